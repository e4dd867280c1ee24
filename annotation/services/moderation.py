"""The moderation workbench's bulk actions: one moderator's action on many entries at once.

Each entry is handled on its own, in its own transaction, by the same service a moderator's
single action on it calls (entry_decide, entry_overturn, flag_resolve, flag_raise_by_hand), so a
bulk action obeys every rule a single one does. An entry the action does not apply to is skipped
with the reason, and the others go ahead.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import TextChoices

from annotation import selectors
from annotation.models import (
    MAX_DECISION_REASON_CHARS,
    Entry,
    EntryStatus,
    Flag,
    FlagKind,
    FlagStatus,
    Verdict,
)
from annotation.roles import is_moderator
from annotation.services import reviews
from annotation.services.flags import MAX_NOTE_CHARS, flag_raise_by_hand, flag_resolve
from config.errors import ActionForbidden, DomainError

# The most entries one bulk action takes: a slip of the hand stays small.
MAX_BULK_ENTRIES = 200
# The reason is a decision's reason or a flag's note, whichever the action writes.
MAX_REASON_CHARS = min(MAX_DECISION_REASON_CHARS, MAX_NOTE_CHARS)


class BulkAction(TextChoices):
    CONFIRM_FLAGS = "confirm_flags", "Confirm their open flags"
    DISMISS_FLAGS = "dismiss_flags", "Dismiss their open flags"
    ACCEPT = "accept", "Accept"
    REJECT = "reject", "Reject"
    REOPEN = "reopen", "Reopen for review"
    RAISE_FLAG = "raise_flag", "Raise a flag"


# Actions whose text the author reads, so it must be given.
_NEEDS_REASON = {BulkAction.ACCEPT, BulkAction.REJECT, BulkAction.REOPEN, BulkAction.RAISE_FLAG}
_DECIDED = (EntryStatus.ACCEPTED, EntryStatus.REJECTED)


class Skipped(Exception):
    """This entry is left as it is, for the reason given (said to the moderator)."""


@dataclass(frozen=True)
class BulkResult:
    entry_id: int
    done: bool
    detail: str


def moderation_bulk(
    *,
    moderator: AbstractBaseUser,
    entry_ids: Iterable[int],
    action: str,
    kind: str = "",
    reason: str = "",
) -> list[BulkResult]:
    """Apply `action` to each entry of `entry_ids` the moderator may read; one result per id.

    `kind` is the flag kind to raise (raise_flag, required) or the only kind to confirm or
    dismiss (optional); `reason` is the reason or note the author reads (required to accept,
    reject, reopen and raise a flag). Accept and reject decide an entry under review
    (entry_decide) and overturn one decided the other way (entry_overturn); reopen puts a
    decided entry back under review. The request is checked whole first (ValidationError), so
    a missing reason changes nothing; then each entry is done or skipped on its own.
    """
    if not is_moderator(moderator):
        raise ActionForbidden("Only moderators act on entries in bulk.")
    entry_ids = list(dict.fromkeys(entry_ids))
    reason = (reason or "").strip()
    _check_request(entry_ids=entry_ids, action=action, kind=kind, reason=reason)
    entries = selectors.entries_visible_to(viewer=moderator).filter(pk__in=entry_ids)
    found = {entry.pk: entry for entry in entries.select_related("category")}
    return [
        _apply_one(found.get(pk), pk, moderator=moderator, action=action, kind=kind, reason=reason)
        for pk in entry_ids
    ]


def _check_request(*, entry_ids: list[int], action: str, kind: str, reason: str) -> None:
    errors = {}
    if not entry_ids:
        errors["entries"] = "Select at least one entry."
    elif len(entry_ids) > MAX_BULK_ENTRIES:
        errors["entries"] = (
            f"Select at most {MAX_BULK_ENTRIES} entries for one action "
            f"({len(entry_ids):,} are selected)."
        )
    if action not in BulkAction.values:
        errors["action"] = "Choose what to do with the selected entries."
    if kind and kind not in FlagKind.values:
        errors["kind"] = "Choose one of the flag kinds."
    elif action == BulkAction.RAISE_FLAG and not kind:
        errors["kind"] = "Choose the kind of flag to raise."
    if action in _NEEDS_REASON and not reason:
        errors["reason"] = "Give a reason: the authors read it."
    elif len(reason) > MAX_REASON_CHARS:
        errors["reason"] = f"Keep the reason to {MAX_REASON_CHARS:,} characters."
    if errors:
        raise ValidationError(errors)


def _apply_one(
    entry: Entry | None, pk: int, *, moderator, action: str, kind: str, reason: str
) -> BulkResult:
    """One entry's part of a bulk action, in its own transaction: all of it or nothing."""
    try:
        if entry is None or entry.status == EntryStatus.DRAFT:
            raise Skipped(f"#{pk} was not found")
        if entry.author_id == moderator.pk:
            raise Skipped(f"#{pk} is your own entry")
        with transaction.atomic():
            detail = _ACTIONS[action](entry, moderator=moderator, kind=kind, reason=reason)
    except Skipped as skipped:
        return BulkResult(pk, done=False, detail=str(skipped))
    except ValidationError as exc:
        return BulkResult(pk, done=False, detail=f"#{pk}: {' '.join(exc.messages)}")
    except DomainError as exc:
        return BulkResult(pk, done=False, detail=f"#{pk}: {exc.message}")
    return BulkResult(pk, done=True, detail=detail)


def _resolve_flags(entry: Entry, *, moderator, kind: str, resolution: str, note: str) -> str:
    flags = Flag.objects.filter(entry=entry, status=FlagStatus.OPEN).select_related("entry")
    if kind:
        flags = flags.filter(kind=kind)
    flags = list(flags.order_by("id"))
    if not flags:
        of_kind = f" of kind {FlagKind(kind).label.lower()}" if kind else ""
        raise Skipped(f"#{entry.pk} has no open flags{of_kind}")
    for flag in flags:
        flag_resolve(flag=flag, moderator=moderator, action=resolution, note=note)
    done = "confirmed" if resolution == "confirm" else "dismissed"
    return f"#{entry.pk}: {len(flags)} flag{'s' if len(flags) != 1 else ''} {done}"


def _confirm_flags(entry: Entry, *, moderator, kind: str, reason: str) -> str:
    return _resolve_flags(entry, moderator=moderator, kind=kind, resolution="confirm", note=reason)


def _dismiss_flags(entry: Entry, *, moderator, kind: str, reason: str) -> str:
    return _resolve_flags(entry, moderator=moderator, kind=kind, resolution="dismiss", note=reason)


def _decide_or_overturn(entry: Entry, *, moderator, verdict: str, reason: str) -> str:
    """Decide an entry under review; overturn one decided the other way."""
    wanted = EntryStatus.ACCEPTED if verdict == Verdict.APPROVE else EntryStatus.REJECTED
    if entry.status == wanted:
        raise Skipped(f"#{entry.pk} is already {entry.get_status_display().lower()}")
    if entry.status == EntryStatus.SUBMITTED:
        reviews.entry_decide(entry=entry, moderator=moderator, verdict=verdict, reason=reason)
        return f"#{entry.pk} {wanted.lower()}"
    if entry.status in _DECIDED:
        reviews.entry_overturn(entry=entry, moderator=moderator, verdict=verdict, reason=reason)
        return f"#{entry.pk} overturned: now {wanted.lower()}"
    raise Skipped(
        f"#{entry.pk} is not under review or decided (it is {entry.get_status_display().lower()})"
    )


def _accept(entry: Entry, *, moderator, kind: str, reason: str) -> str:
    return _decide_or_overturn(entry, moderator=moderator, verdict=Verdict.APPROVE, reason=reason)


def _reject(entry: Entry, *, moderator, kind: str, reason: str) -> str:
    return _decide_or_overturn(entry, moderator=moderator, verdict=Verdict.REJECT, reason=reason)


def _reopen(entry: Entry, *, moderator, kind: str, reason: str) -> str:
    if entry.status not in _DECIDED:
        raise Skipped(f"#{entry.pk} is not decided (it is {entry.get_status_display().lower()})")
    reviews.entry_overturn(entry=entry, moderator=moderator, verdict="reopen", reason=reason)
    return f"#{entry.pk} reopened for review"


def _raise_flag(entry: Entry, *, moderator, kind: str, reason: str) -> str:
    flag_raise_by_hand(entry=entry, moderator=moderator, kind=kind, note=reason)
    return f"#{entry.pk} flagged"


_ACTIONS = {
    BulkAction.CONFIRM_FLAGS: _confirm_flags,
    BulkAction.DISMISS_FLAGS: _dismiss_flags,
    BulkAction.ACCEPT: _accept,
    BulkAction.REJECT: _reject,
    BulkAction.REOPEN: _reopen,
    BulkAction.RAISE_FLAG: _raise_flag,
}
