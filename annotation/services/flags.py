from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotation.models import Entry, Flag, FlagStatus
from annotation.roles import is_moderator
from config.errors import ActionForbidden, StateConflict

MAX_NOTE_CHARS = 2_000


def flag_raise(
    *,
    entry: Entry,
    kind: str,
    evidence: str,
    evidence_key: str,
    blocking: bool,
    duplicate_of: Entry | None = None,
    similarity: float | None = None,
) -> tuple[Flag, bool]:
    """Record a check's finding on an entry; (flag, created). The same finding again (same kind
    and evidence key) returns the existing flag, whatever its status, so re-running a check
    never duplicates a flag nor reopens one a moderator dismissed."""
    key = evidence_key[:200]
    defaults = {
        "evidence": evidence,
        "blocking": blocking,
        "duplicate_of": duplicate_of,
        "similarity": similarity,
    }
    try:
        with transaction.atomic():
            return Flag.objects.get_or_create(
                entry=entry, kind=kind, evidence_key=key, defaults=defaults
            )
    except IntegrityError:  # raised by a concurrent check a moment ago
        return Flag.objects.get(entry=entry, kind=kind, evidence_key=key), False


def flag_supersede(*, flag: Flag, note: str) -> Flag:
    """Close an open flag whose finding is gone (found again no more, or now the kept copy)."""
    Flag.objects.filter(pk=flag.pk, status=FlagStatus.OPEN).update(
        status=FlagStatus.DISMISSED, resolved_at=timezone.now(), note=note[:MAX_NOTE_CHARS]
    )
    flag.refresh_from_db()
    return flag


def flag_resolve(*, flag: Flag, moderator: AbstractBaseUser, action: str, note: str = "") -> Flag:
    """A moderator confirms a finding (the problem is real) or dismisses it (a false alarm)."""
    if not is_moderator(moderator):
        raise ActionForbidden("Only moderators resolve flags.")
    if flag.entry.author_id == moderator.pk:
        raise ActionForbidden("Moderators do not resolve flags on their own entries.")
    statuses = {"confirm": FlagStatus.CONFIRMED, "dismiss": FlagStatus.DISMISSED}
    if action not in statuses:
        raise ValidationError({"action": "Choose confirm or dismiss."})
    note = (note or "").strip()
    if len(note) > MAX_NOTE_CHARS:
        raise ValidationError({"note": f"Keep the note to {MAX_NOTE_CHARS:,} characters."})
    with transaction.atomic():
        flag = Flag.objects.select_for_update().get(pk=flag.pk)
        if flag.status != FlagStatus.OPEN:
            raise StateConflict(f"This flag is already {flag.get_status_display().lower()}.")
        flag.status = statuses[action]
        flag.resolved_by = moderator
        flag.resolved_at = timezone.now()
        flag.note = note
        flag.save(update_fields=["status", "resolved_by", "resolved_at", "note"])
    return flag
