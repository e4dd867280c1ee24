"""How a check's finding meets the flag already there for it: the one rule, for the per-entry
checks, the licensing and reference rescans and the duplicate writer alike."""

from annotation import services as annotation
from annotation.models import Entry, Flag, FlagStatus
from quality.checks import LICENSING_KINDS, Finding
from quality.selectors import among


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


def findings_record(
    *, checked: list[tuple[Entry, list[Finding]]], kinds=LICENSING_KINDS
) -> list[Flag]:
    """Write what the checks of these `kinds` found on these entries: flag the findings not yet
    flagged (in one insert), reopen the ones a check had closed, and close the open flags of
    these kinds no finding supports now. A person's decision (confirmed, dismissed) stands.
    Returns the flags raised or reopened."""
    known: dict[int, dict[tuple[str, str], Flag]] = {}
    entry_ids = [entry.pk for entry, _ in checked]
    for flag in Flag.objects.filter(among("entry_id", entry_ids), kind__in=kinds):
        known.setdefault(flag.entry_id, {})[(flag.kind, flag.evidence_key)] = flag
    new: list[Flag] = []
    reopened: list[Flag] = []
    for entry, findings in checked:
        flags = known.get(entry.pk, {})
        found = set()
        for finding in findings:
            key = (finding.kind, finding.evidence_key[:200])
            if key in found:
                continue
            found.add(key)
            flag = finding_apply(entry_id=entry.pk, finding=finding, known=flags.get(key), new=new)
            if flag is not None:
                reopened.append(flag)
        for key, flag in flags.items():
            if flag.status == FlagStatus.OPEN and key not in found:
                annotation.flag_close(flag=flag, note="No longer found when checked again.")
    inserted = annotation.flags_raise_many(flags=new)
    return [*inserted, *reopened]
