from datetime import timedelta
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from annotation import selectors
from annotation.events import entry_submitted
from annotation.models import Category, Entry, EntryStatus, Review, Revision
from annotation.text import ENTRY_FIELDS, normalize_fields, validate_draft, validate_submission
from config.errors import ActionForbidden, StateConflict

# A draft's autosaves within this long of its last save, by its author, with no other revision
# in between, update that revision instead of adding one: one revision per editing session.
DRAFT_SESSION = timedelta(minutes=10)


class DraftChanged(StateConflict):
    """The page saved an older version of the draft than the one stored (another tab saved it
    meanwhile). Carries the stored text and version, so the page can offer both texts."""

    def __init__(self, *, entry: Entry):
        super().__init__(
            "This draft changed in another tab. Both texts are below: keep the one you want."
        )
        self.current = {name: getattr(entry, name) for name in ENTRY_FIELDS}
        self.version = selectors.draft_version(entry=entry)


def entry_new_round(entry: Entry, *, status: str) -> None:
    """Start a new review round for `entry` (its row locked by the caller), in `status`: a
    revision after a rejection (a draft again) or a moderator's reopen (under review again).
    The round's reviews start over; earlier reviewers, who reviewed the entry once, are not
    handed it again (one review per reviewer per entry)."""
    entry.status = status
    entry.review_round += 1
    entry.review_count = 0
    entry.decided_at = None
    entry.release_lease()
    entry.save(
        update_fields=[
            "status",
            "review_round",
            "review_count",
            "decided_at",
            *Entry.LEASE_FIELDS,
            "updated_at",
        ]
    )


def _require_author(entry: Entry, actor: AbstractBaseUser) -> None:
    if entry.author_id != actor.pk:
        raise ActionForbidden("Only the author can change this entry.")


def _require_status(entry: Entry, *allowed: str, action: str) -> None:
    if entry.status not in allowed:
        raise StateConflict(f"A {entry.get_status_display().lower()} entry cannot be {action}.")


def _revision_number_next(*, entry: Entry) -> int:
    """Take the entry's next revision number: its counter, raised and read in one statement.

    `Max(number) + 1` let two saves of one entry at once (an autosave racing the submit, two
    tabs) read the same maximum and collide on the unique (entry, number). One
    `UPDATE … RETURNING` cannot interleave: on PostgreSQL a concurrent save waits on the row lock
    this takes until the transaction ends, then counts on from the committed value; SQLite runs
    one writer at a time. The ORM's update() returns no values, hence the SQL.
    """
    quote = connection.ops.quote_name
    table, column = Entry._meta.db_table, Entry._meta.get_field("revision_count").column
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(table)} SET {quote(column)} = {quote(column)} + 1 "
            f"WHERE {quote(Entry._meta.pk.column)} = %s RETURNING {quote(column)}",
            [entry.pk],
        )
        (number,) = cursor.fetchone()
    entry.revision_count = number
    return number


def revision_record(*, entry: Entry, author: AbstractBaseUser) -> Revision:
    """Copy the entry's current text into a new, numbered, never-changed revision.

    Call it inside the transaction that changed the text, so that the number is given back if
    that transaction rolls back.
    """
    return Revision.objects.create(
        entry=entry,
        number=_revision_number_next(entry=entry),
        author=author,
        **{name: getattr(entry, name) for name in ENTRY_FIELDS},
    )


def entry_create(
    *, author: AbstractBaseUser, category: Category, values: dict, draft_key: UUID | None = None
) -> Entry:
    """Start a draft. Its text, if any, becomes revision 1."""
    cleaned = normalize_fields({name: values.get(name, "") for name in ENTRY_FIELDS})
    validate_draft(cleaned)
    with transaction.atomic():
        entry = Entry.objects.create(
            author=author, category=category, draft_key=draft_key, **cleaned
        )
        if any(cleaned.values()):
            revision_record(entry=entry, author=author)
    return entry


def entry_save_draft(
    *,
    author: AbstractBaseUser,
    category: Category,
    values: dict,
    entry: Entry | None = None,
    draft_key: UUID | None = None,
    version: str = "",
    fold: bool = False,
) -> Entry | None:
    """Save what the writing page holds: update its draft, or start one on the first keystroke.

    The page's `draft_key` makes the start idempotent, so a first autosave still in flight, the
    beacon of a closing tab and the submit button all land on one draft. None when nothing has
    been typed yet. `version` is the draft's version the page last saw, `fold` asks for this
    editing session's revision to be updated (see entry_update).
    """
    if entry is None and draft_key is not None:
        entry = Entry.objects.filter(author=author, draft_key=draft_key).first()
    if entry is not None:
        return entry_update(entry=entry, actor=author, values=values, version=version, fold=fold)
    if not any(str(value).strip() for value in values.values()):
        return None
    try:
        with transaction.atomic():
            return entry_create(
                author=author, category=category, values=values, draft_key=draft_key
            )
    except IntegrityError:
        # Another request from the same page created it a moment ago.
        entry = Entry.objects.get(author=author, draft_key=draft_key)
        return entry_update(entry=entry, actor=author, values=values, fold=fold)


def entry_update(
    *,
    entry: Entry,
    actor: AbstractBaseUser,
    values: dict,
    version: str = "",
    fold: bool = False,
) -> Entry:
    """Save a draft's text (autosave calls this as the writer types).

    Only fields present in `values` change. A revision is recorded only when the text changed,
    so repeated autosaves of the same text cost one row; with `fold` (the writing page's
    autosaves) the saves of one editing session make one revision (_revision_fold). A `version` (selectors.draft_version) older than the
    stored draft's raises DraftChanged instead of overwriting another tab's text, unless the
    text sent is what is stored already.
    """
    _require_author(entry, actor)
    changes = normalize_fields({k: v for k, v in values.items() if k in ENTRY_FIELDS})
    validate_draft(changes)
    with transaction.atomic():
        saved = _save_as_seen(entry=entry, changes=changes, version=version)
        if saved is not None:
            if not (fold and _revision_fold(entry=entry, author=actor, last_saved=saved)):
                revision_record(entry=entry, author=actor)
            return entry
        entry = Entry.objects.select_for_update().get(pk=entry.pk)
        _require_status(entry, EntryStatus.DRAFT, action="edited")
        changed = [name for name, value in changes.items() if getattr(entry, name) != value]
        if changed:
            if version and version != selectors.draft_version(entry=entry):
                raise DraftChanged(entry=entry)
            last_saved = entry.updated_at
            for name in changed:
                setattr(entry, name, changes[name])
            entry.save(update_fields=[*changed, "updated_at"])
            if not (fold and _revision_fold(entry=entry, author=actor, last_saved=last_saved)):
                revision_record(entry=entry, author=actor)
    return entry


def _save_as_seen(*, entry: Entry, changes: dict, version: str):
    """The usual autosave, without a lock or a second read: the page saw the version `entry`
    was read at, and its text differs from what was read. One UPDATE that holds only while the
    draft is still that version (every save moves `updated_at`, and a concurrent save's UPDATE
    is waited for and then re-checked by PostgreSQL). Returns when the draft had been saved
    before (for the fold), or None when this does not apply or the draft moved on meanwhile:
    the locked read then decides (DraftChanged, or nothing to save)."""
    if entry.status != EntryStatus.DRAFT or not version:
        return None
    if version != selectors.draft_version(entry=entry):
        return None
    changed = {name: value for name, value in changes.items() if getattr(entry, name) != value}
    if not changed:
        return None
    last_saved, now = entry.updated_at, timezone.now()
    still = Entry.objects.filter(
        pk=entry.pk,
        status=EntryStatus.DRAFT,
        updated_at=last_saved,
        revision_count=entry.revision_count,  # the fold's revision (two saves in one instant)
    )
    if not still.update(**changed, updated_at=now):
        return None
    for name, value in changed.items():
        setattr(entry, name, value)
    entry.updated_at = now
    return last_saved


def _revision_fold(*, entry: Entry, author: AbstractBaseUser, last_saved) -> bool:
    """Put the draft's new text into its latest revision when that is the author's own, of
    this editing session: added since the entry was last submitted, not a reviewer's fix, and
    the draft saved within DRAFT_SESSION. False when a new revision is due instead.

    One UPDATE that holds the conditions, written as SQL: an autosave is the most frequent
    request of a drive, and Django took longer to build this statement (the NOT EXISTS, the
    UPDATE's sub-select) than PostgreSQL took to run it."""
    if timezone.now() - last_saved > DRAFT_SESSION:
        return False
    quote = connection.ops.quote_name
    revision = Revision._meta
    column = {field.name: quote(field.column) for field in revision.concrete_fields}
    since, params = "", [getattr(entry, name) for name in ENTRY_FIELDS]
    params += [entry.pk, entry.revision_count, author.pk]
    if entry.submitted_at is not None:
        submitted = connection.ops.adapt_datetimefield_value(entry.submitted_at)
        since, params = f" AND {column['created_at']} > %s", [*params, submitted]
    fix = quote(Review._meta.get_field("fix").column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(revision.db_table)} SET "
            + ", ".join(f"{column[name]} = %s" for name in ENTRY_FIELDS)
            + f" WHERE {column['entry']} = %s AND {column['number']} = %s"
            f" AND {column['author']} = %s{since} AND NOT EXISTS (SELECT 1 FROM "
            f"{quote(Review._meta.db_table)} AS fixes WHERE fixes.{fix} = "
            f"{quote(revision.db_table)}.{column['id']})",
            params,
        )
        return cursor.rowcount > 0


def revision_restore(*, entry: Entry, actor: AbstractBaseUser, number: int) -> Entry:
    """Make a draft's text that of one of its earlier revisions (one its author may see), as a
    new revision; the revisions in between stay."""
    _require_author(entry, actor)
    with transaction.atomic():
        entry = Entry.objects.select_for_update().get(pk=entry.pk)
        _require_status(entry, EntryStatus.DRAFT, action="edited")
        revision = selectors.revision_for_author(entry=entry, number=number)
        if revision is None:
            raise StateConflict(f"Draft #{entry.pk} has no revision r{number}.")
        for name in ENTRY_FIELDS:
            setattr(entry, name, getattr(revision, name))
        entry.save(update_fields=[*ENTRY_FIELDS, "updated_at"])
        revision_record(entry=entry, author=actor)
    return entry


def entry_submit(*, entry: Entry, actor: AbstractBaseUser) -> Entry:
    """Send a draft to peer review once it meets the rules and the author accepted the agreement."""
    _require_author(entry, actor)
    status = selectors.agreement_status(user=actor)
    if status.current is None or not status.accepted:
        raise ActionForbidden(
            "Accept the contributor agreement before submitting; your draft is saved."
        )
    with transaction.atomic():
        entry = (
            Entry.objects.select_for_update(of=("self",))
            .select_related("category")
            .get(pk=entry.pk)
        )
        _require_status(entry, EntryStatus.DRAFT, action="submitted")
        validate_submission(
            category=entry.category, values={name: getattr(entry, name) for name in ENTRY_FIELDS}
        )
        entry.status = EntryStatus.SUBMITTED
        entry.submitted_at = timezone.now()
        entry.save(update_fields=["status", "submitted_at", "updated_at"])
        # Quality checks (exports) listen here: see annotation/events.py.
        entry_submitted.send(sender=Entry, entry=entry)
    return entry


def entry_withdraw(*, entry: Entry, actor: AbstractBaseUser) -> Entry:
    """Take a submitted entry out of review; it can be reopened as a draft later."""
    _require_author(entry, actor)
    with transaction.atomic():
        entry = Entry.objects.select_for_update().get(pk=entry.pk)
        _require_status(entry, EntryStatus.SUBMITTED, action="withdrawn")
        entry.status = EntryStatus.WITHDRAWN
        entry.release_lease()
        entry.save(update_fields=["status", *Entry.LEASE_FIELDS, "updated_at"])
    return entry


def entry_reopen(*, entry: Entry, actor: AbstractBaseUser) -> Entry:
    """Turn a rejected or withdrawn entry back into a draft so its author can revise it."""
    _require_author(entry, actor)
    with transaction.atomic():
        entry = Entry.objects.select_for_update().get(pk=entry.pk)
        _require_status(entry, EntryStatus.REJECTED, EntryStatus.WITHDRAWN, action="revised")
        # The revised text is a new submission: its reviews start over in a new round.
        entry_new_round(entry, status=EntryStatus.DRAFT)
    return entry


def entry_delete(*, entry: Entry, actor: AbstractBaseUser) -> None:
    """Discard a draft. Anything that was ever submitted stays, for the record."""
    _require_author(entry, actor)
    with transaction.atomic():
        entry = Entry.objects.select_for_update().get(pk=entry.pk)
        _require_status(entry, EntryStatus.DRAFT, action="deleted")
        if entry.submitted_at is not None:
            raise StateConflict("This entry was submitted once; withdraw it instead of deleting.")
        entry.delete()
