"""What keeps an entry out of a snapshot, and out of the review queue: the one home of "blocking",
and of the other thing that keeps an accepted entry out, its removal from releases (withdrawn
by its author or erased with their data: annotation.models.ReleaseRemoval).

A flag is blocking or not when it is raised (quality/checks.py says which findings block; a
moderator's hand-raised flag always does). The meaning is one: while a blocking flag is open (not
yet judged) or confirmed (judged real), its entry is kept out of every snapshot. A dismissal (a
person's "false alarm") or a check closing it (the finding is gone) lets the entry back in.
A non-blocking flag informs reviewers and moderators and keeps nothing out.

The snapshot's selector (exports.selectors.exportable_entries), its manifest and dataset card,
the flag pages and the docs all say what `entry_held_back` says; `held_back` is its query twin.
"""

from django.db.models import Exists, OuterRef, Q

from annotation.models import Entry, Flag, FlagStatus, ReleaseRemoval

# The statuses in which a blocking flag holds its entry back.
HOLDING_STATUSES = (FlagStatus.OPEN, FlagStatus.CONFIRMED)

# Said in the manifest, the dataset card and the exports page, in these words.
RULE_TEXT = (
    "every entry with a blocking flag that is open or confirmed (a licensing, provenance, "
    "personal-data or AI-text finding, a response that repeats the instruction or the passage, "
    "a moderator's hand-raised flag, a match with a reference (evaluation) question, and every "
    "copy of a duplicate but the one kept), and every entry withdrawn from releases by its "
    "author or erased with their data"
)


def flag_holds_back(flag: Flag) -> bool:
    """Whether this flag, as it stands, keeps its entry out of snapshots."""
    return flag.blocking and flag.status in HOLDING_STATUSES


def holding_flags() -> Q:
    """The flags that keep their entry out (the query twin of flag_holds_back)."""
    return Q(blocking=True, status__in=HOLDING_STATUSES)


def entry_held_back(entry: Entry) -> bool:
    """Whether any of the entry's flags, or its removal from releases, keeps it out of
    snapshots."""
    if ReleaseRemoval.objects.filter(entry=entry).exists():
        return True
    return any(flag_holds_back(flag) for flag in entry.flags.all())


def held_back() -> Q:
    """A condition over an Entry queryset's rows: true for the entries entry_held_back keeps out
    (`Entry.objects.exclude(held_back())` is what may be released)."""
    return Q(Exists(Flag.objects.filter(holding_flags(), entry=OuterRef("pk")))) | Q(
        Exists(ReleaseRemoval.objects.filter(entry=OuterRef("pk")))
    )


def judged_blocking() -> Exists:
    """True for entries with a blocking flag a moderator confirmed: the problem is real, so peer
    review of them is wasted work and they leave the review queue."""
    return Exists(
        Flag.objects.filter(blocking=True, status=FlagStatus.CONFIRMED, entry=OuterRef("pk"))
    )
