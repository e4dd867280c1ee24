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
)
from quality.services.marks import (
    entry_rescan_mark,
    scan_mark,
    scan_mark_save,
    scan_marks_forget,
)

__all__ = [
    "LicensingReport",
    "QualityReport",
    "RescanReport",
    "defects_flag",
    "duplicate_check",
    "duplicates_rescan",
    "duplicates_settle",
    "entry_check",
    "entry_rescan_mark",
    "fingerprint_update",
    "fingerprints_add",
    "licensing_rescan",
    "quality_rescan",
    "scan_mark",
    "scan_mark_save",
    "scan_marks_forget",
]
