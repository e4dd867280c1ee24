import uuid

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from annotation.masking import evidence_masked, mask_value
from annotation.models import Entry, EntryStatus, Flag, FlagKind, FlagStatus
from annotation.roles import is_moderator
from config.errors import ActionForbidden, StateConflict

MAX_NOTE_CHARS = 2_000


def flag_reopen(
    *, flag: Flag, evidence: str, duplicate_of_id: int | None = None, similarity=None
) -> bool:
    """A finding a check had closed (FlagStatus.CLOSED) is found again: reopen its flag with the
    new evidence, since no person ever judged it. A person's decision (confirmed, dismissed) is
    final and an open flag stays as it is: returns whether the flag was reopened."""
    reopened = Flag.objects.filter(pk=flag.pk, status=FlagStatus.CLOSED).update(
        status=FlagStatus.OPEN,
        resolved_at=None,
        note="",
        evidence=evidence,
        duplicate_of_id=duplicate_of_id,
        similarity=similarity,
    )
    flag.refresh_from_db()
    return bool(reopened)


def flags_raise_many(*, flags: list[Flag]) -> list[Flag]:
    """Record new findings (a check's, or a rescan's chunk at once): unsaved Flag rows, none of
    whose findings the caller saw flagged, inserted in a few statements. A finding a concurrent
    check flagged a moment ago is skipped (one flag per finding). Returns the flags inserted."""
    if not flags:
        return []
    for flag in flags:
        flag.evidence_key = flag.evidence_key[:200]
        flag.status = FlagStatus.OPEN
    keys = {(flag.entry_id, flag.kind, flag.evidence_key) for flag in flags}
    theirs = Flag.objects.filter(entry_id__in={entry_id for entry_id, _, _ in keys})
    # Rows inserted now take ids above every id there was (ignore_conflicts gives none back).
    last = Flag.objects.aggregate(last=Max("pk"))["last"] or 0
    Flag.objects.bulk_create(flags, ignore_conflicts=True, batch_size=1_000)
    return [
        flag
        for flag in theirs.filter(pk__gt=last)
        if (flag.entry_id, flag.kind, flag.evidence_key) in keys
    ]


def flag_close(*, flag: Flag, note: str) -> Flag:
    """A check closes an open flag whose finding is gone (found again no more, or the entry is
    now the copy kept). Not a dismissal: the same finding found again reopens it."""
    Flag.objects.filter(pk=flag.pk, status=FlagStatus.OPEN).update(
        status=FlagStatus.CLOSED, resolved_at=timezone.now(), note=note[:MAX_NOTE_CHARS]
    )
    flag.refresh_from_db()
    return flag


def flags_mask_personal_data(*, flag_model=Flag) -> int:
    """Mask the personal data the check stored in clear before issue 12 (evidence and finding key
    alike, as quality/checks.py now writes them), so that a rescan finds these flags again under
    their masked keys and a moderator's decision on them stands. Returns how many flags changed;
    running it again changes none.

    For a data migration: `flags_mask_personal_data(flag_model=apps.get_model("annotation",
    "Flag"))`. Two findings of one entry whose masked keys coincide (two cards ending alike in one
    field) keep apart: the later gets its id appended, and a rescan closes it if still open.
    """
    flags = flag_model.objects.filter(kind=FlagKind.PERSONAL_DATA, raised_by__isnull=True)
    taken = set(flags.values_list("entry_id", "evidence_key"))
    changed = 0
    with transaction.atomic():
        for flag in flags.order_by("pk").iterator():
            field, _, rest = flag.evidence_key.partition(":")
            kind, _, value = rest.partition(":")
            value, apart, pk = value.partition("#")  # "#<id>": kept apart by an earlier run
            key = f"{field}:{kind}:{mask_value(value)}{apart}{pk}"[:200]
            evidence = evidence_masked(flag.evidence)
            if key == flag.evidence_key and evidence == flag.evidence:
                continue
            if key != flag.evidence_key and (flag.entry_id, key) in taken:
                key = f"{key[:180]}#{flag.pk}"
            taken.discard((flag.entry_id, flag.evidence_key))
            taken.add((flag.entry_id, key))
            # One row at a time, in order: each takes a key no other row holds at that moment.
            flag_model.objects.filter(pk=flag.pk).update(evidence=evidence, evidence_key=key)
            changed += 1
    return changed


def _clean_note(note: str | None) -> str:
    note = (note or "").strip()
    if len(note) > MAX_NOTE_CHARS:
        raise ValidationError({"note": f"Keep the note to {MAX_NOTE_CHARS:,} characters."})
    return note


def flag_raise_by_hand(*, entry: Entry, moderator: AbstractBaseUser, kind: str, note: str) -> Flag:
    """A moderator flags an entry they have seen a problem in (accepted ones too), with a note
    that reviewers and the author read. It always blocks (annotation/holds.py) until a moderator
    confirms or dismisses it; raising the same kind again on the entry while one is open is a
    conflict, not a second flag."""
    if not is_moderator(moderator):
        raise ActionForbidden("Only moderators raise flags by hand.")
    if entry.author_id == moderator.pk:
        raise ActionForbidden("Moderators do not flag their own entries.")
    if entry.status == EntryStatus.DRAFT:
        raise StateConflict("A draft is private to its author; flag it once it is submitted.")
    errors = {}
    if kind not in FlagKind.values:
        errors["kind"] = "Choose one of: " + ", ".join(FlagKind.values) + "."
    try:
        note = _clean_note(note)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if not note and "note" not in errors:
        errors["note"] = "Say what is wrong: reviewers and the author read this note."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        Entry.objects.select_for_update().filter(pk=entry.pk).first()
        if Flag.objects.filter(
            entry=entry, kind=kind, raised_by__isnull=False, status=FlagStatus.OPEN
        ).exists():
            raise StateConflict(
                "This entry already has an open flag of this kind from a moderator."
            )
        return Flag.objects.create(
            entry=entry,
            kind=kind,
            evidence=note,
            # Unique per raise, so that a later check's finding of the same kind is its own flag.
            evidence_key=f"hand:{uuid.uuid4().hex}",
            blocking=True,
            raised_by=moderator,
            note="",
        )


def flag_resolve(*, flag: Flag, moderator: AbstractBaseUser, action: str, note: str = "") -> Flag:
    """A moderator confirms a finding (the problem is real) or dismisses it (a false alarm)."""
    if not is_moderator(moderator):
        raise ActionForbidden("Only moderators resolve flags.")
    if flag.entry.author_id == moderator.pk:
        raise ActionForbidden("Moderators do not resolve flags on their own entries.")
    statuses = {"confirm": FlagStatus.CONFIRMED, "dismiss": FlagStatus.DISMISSED}
    if action not in statuses:
        raise ValidationError({"action": "Choose confirm or dismiss."})
    note = _clean_note(note)
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
