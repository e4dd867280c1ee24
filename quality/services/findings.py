"""How a check's finding meets the flag already there for it: the one rule, for the per-entry
checks, the licensing rescan and the duplicate writer alike."""

from annotation import services as annotation
from annotation.models import Flag, FlagStatus
from quality.checks import Finding


def finding_apply(
    *, entry_id: int, finding: Finding, known: Flag | None, new: list[Flag]
) -> Flag | None:
    """No flag yet: a new row is added to `new`, for one insert of many (flags_raise_many).
    A flag a check closed: reopened now with the new evidence (returned). An open flag, or a
    person's decision (confirmed, dismissed): left as it is."""
    if known is None:
        new.append(
            Flag(
                entry_id=entry_id,
                kind=finding.kind,
                evidence=finding.evidence,
                evidence_key=finding.evidence_key,
                blocking=finding.blocking,
                duplicate_of_id=finding.duplicate_of,
                similarity=finding.similarity,
            )
        )
        return None
    if known.status == FlagStatus.CLOSED and annotation.flag_reopen(
        flag=known,
        evidence=finding.evidence,
        duplicate_of_id=finding.duplicate_of,
        similarity=finding.similarity,
    ):
        return known
    return None
