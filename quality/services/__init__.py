"""Every write in the quality app, one module per area, all reachable as `services.<name>`."""

from quality.services.checks import (
    LicensingReport,
    QualityReport,
    defects_flag,
    entry_check,
    licensing_rescan,
    quality_rescan,
)
from quality.services.duplicates import (
    RescanReport,
    duplicate_check,
    duplicates_rescan,
    duplicates_settle,
    fingerprint_update,
    fingerprints_add,
    fingerprints_drop,
)
from quality.services.lock import RescanBusy, rescan_lock
from quality.services.marks import (
    entry_rescan_mark,
    scan_mark,
    scan_mark_save,
    scan_marks_forget,
)
from quality.services.references import (
    ReferencesReport,
    reference_corpus_delete,
    reference_corpus_ensure,
    reference_items_add,
    reference_question_too_short,
    references_check,
    references_rescan,
)

__all__ = [
    "LicensingReport",
    "QualityReport",
    "ReferencesReport",
    "RescanBusy",
    "RescanReport",
    "defects_flag",
    "duplicate_check",
    "duplicates_rescan",
    "duplicates_settle",
    "entry_check",
    "entry_rescan_mark",
    "fingerprint_update",
    "fingerprints_add",
    "fingerprints_drop",
    "licensing_rescan",
    "quality_rescan",
    "reference_corpus_delete",
    "reference_corpus_ensure",
    "reference_items_add",
    "reference_question_too_short",
    "references_check",
    "references_rescan",
    "rescan_lock",
    "scan_mark",
    "scan_mark_save",
    "scan_marks_forget",
]
