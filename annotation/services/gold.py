"""Gold entries: decided entries whose right verdict a moderator knows, handed to reviewers among
the others to measure how well they review (docs/moderation.md).

A gold hand-out looks to the reviewer like any entry under review, and their answer is kept on
a GoldReview, never as a Review: it decides nothing, counts toward no consensus, earns no points
and notifies nobody. The review services call the hooks here (`gold_held`, `gold_drawn`,
`gold_hand_out_to_answer` and `gold_answer`, `gold_skip`) at clearly marked points; the pages
and the API go through them.
"""

import hashlib
import hmac
import random

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from annotation import selectors
from annotation.models import (
    OUTCOME_OF_VERDICT,
    Category,
    Entry,
    EntryStatus,
    GoldEntry,
    GoldReview,
    Review,
    Verdict,
    reject_reasons_unknown,
)
from annotation.roles import is_moderator
from config.errors import ActionForbidden, StateConflict

# At most this many candidates are read for one draw (ordered by id): plenty for a drive's
# gold set, and a bound on the query.
_DRAW_POOL = 1000


# --- Marking -------------------------------------------------------------------------------


def _require_moderator(user: AbstractBaseUser) -> None:
    if not is_moderator(user):
        raise ActionForbidden("Only moderators mark gold entries.")


def _clean_mark(expected: str, reasons) -> list[str]:
    """The reasons of a mark, or a ValidationError: a known-bad entry needs the reasons a good
    reviewer would give; a known-good one takes none."""
    if expected not in Verdict.values:
        raise ValidationError({"expected": "Choose approve or reject."})
    reasons = list(dict.fromkeys(reasons or []))
    unknown = reject_reasons_unknown(reasons)
    if unknown:
        raise ValidationError({"reasons": unknown})
    if expected == Verdict.REJECT and not reasons:
        raise ValidationError(
            {"reasons": "Give at least one reason a reviewer should find in this entry."}
        )
    if expected == Verdict.APPROVE and reasons:
        raise ValidationError({"reasons": "An entry known to be good takes no reasons."})
    return reasons


def gold_mark(
    *, entry: Entry, moderator: AbstractBaseUser, expected: str, reasons: list[str] | None = None
) -> tuple[GoldEntry, bool]:
    """Mark a decided entry as gold with its known verdict (and, for `reject`, the reasons);
    marking it again updates the mark. Returns the mark and whether it is new.

    Only an accepted or rejected entry: its answer is known, and it is out of the review queue,
    so gold answers never decide it. The mark holds for the text as it is now (`revision`), and
    must agree with the standing outcome (approve an accepted entry, reject a rejected one): a
    moderator who finds it wrong overturns it first (selectors.gold_handable).
    """
    _require_moderator(moderator)
    if entry.author_id == moderator.pk:
        raise ActionForbidden("Moderators do not mark their own entries as gold.")
    reasons = _clean_mark(expected, reasons)
    with transaction.atomic():
        entry = Entry.objects.select_for_update().get(pk=entry.pk)
        if selectors.entry_is_erased(entry=entry):
            # Its text is gone (services.erasure): there is nothing to hand to a reviewer.
            raise StateConflict(
                "This entry was erased with its author's data: it cannot be a gold entry."
            )
        if entry.status not in (EntryStatus.ACCEPTED, EntryStatus.REJECTED):
            raise StateConflict(
                "Only a decided entry (accepted or rejected) can be gold; this one is "
                f"{entry.get_status_display().lower()}."
            )
        _require_agreeing(entry, expected)
        return GoldEntry.objects.update_or_create(
            entry=entry,
            defaults={
                "expected": expected,
                "reasons": reasons,
                "revision": entry.revision_count,
                "marked_by": moderator,
                "is_active": True,
            },
        )


def _require_agreeing(entry: Entry, expected: str) -> None:
    """A mark that disagrees with the entry's outcome would count the reviewers who agree with
    the outcome as missing it; the outcome is overturned first (services.entry_overturn)."""
    if OUTCOME_OF_VERDICT[expected] == entry.status:
        return
    status = entry.get_status_display().lower()
    verdict = "bad" if entry.status == EntryStatus.ACCEPTED else "good"
    raise ValidationError(
        {"expected": f"This entry is {status}; overturn it first if it is {verdict}."}
    )


def gold_unmark(*, entry: Entry, moderator: AbstractBaseUser) -> None:
    """Stop handing the entry out as gold. The answers already given stay in reviewers' records;
    an entry that is not gold is left as it is."""
    _require_moderator(moderator)
    GoldEntry.objects.filter(entry=entry).update(is_active=False)


# --- Handing out (services.reviews.review_next) --------------------------------------------


def _draw_rng(reviewer_pk: int, hand_outs: int) -> random.Random:
    """The random source of a reviewer's `hand_outs`-th hand-out: keyed with SECRET_KEY, so
    nobody can tell in advance which hand-out will be gold, yet the same for the same inputs,
    which makes the rate testable without patching anything."""
    message = f"gold:{reviewer_pk}:{hand_outs}".encode()
    seed = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).digest()
    return random.Random(seed)


def _gold_turn(rng: random.Random) -> bool:
    """The draw itself: gold FLOCK_GOLD_RATE of the time."""
    return rng.random() < settings.FLOCK_GOLD_RATE


def gold_draw(*, reviewer_pk: int, hand_outs: int) -> bool:
    """Whether a reviewer's `hand_outs`-th hand-out is a gold entry (FLOCK_GOLD_RATE of them)."""
    return _gold_turn(_draw_rng(reviewer_pk, hand_outs))


def _hand_outs(reviewer: AbstractBaseUser) -> int:
    """How many entries the reviewer was handed and answered or kept: reviews and gold hand-outs."""
    return (
        Review.objects.filter(reviewer=reviewer).count()
        + GoldReview.objects.filter(reviewer=reviewer).count()
    )


def _handed(hand_out: GoldReview) -> Entry:
    entry = hand_out.gold.entry
    return selectors.entry_as_handed(entry=entry, hand_out=hand_out)


def gold_held(*, reviewer: AbstractBaseUser, category: Category | None, now) -> Entry | None:
    """The gold entry the reviewer holds, handed back first like a held lease; None when they
    hold none. Handing it back renews it as a held lease is renewed (`handed_at` is when it
    was last handed to them, and the lease runs from then: selectors.entry_as_handed). One
    they hold that may no longer be handed out (unmarked, its text or outcome changed) or is
    outside the chosen category is given up, as a lease is when they ask for another.
    Called by review_next holding the reviewer's row lock."""
    hand_out = selectors.gold_pending(reviewer=reviewer)
    if hand_out is None:
        return None
    wanted = category is None or hand_out.gold.entry.category_id == category.pk
    if wanted and selectors.gold_is_handable(gold=hand_out.gold):
        hand_out.handed_at = now
        hand_out.save(update_fields=["handed_at"])
        return _handed(hand_out)
    hand_out.skipped_at = now
    hand_out.save(update_fields=["skipped_at"])
    return None


def gold_drawn(*, reviewer: AbstractBaseUser, category: Category | None, now) -> Entry | None:
    """A gold entry handed out instead of the queue's head, FLOCK_GOLD_RATE of the time (when
    there is one the reviewer may be handed); None for the queue's head. Called by review_next
    holding the reviewer's row lock, so the draw and the hand-out it records are serialised."""
    rng = _draw_rng(reviewer.pk, _hand_outs(reviewer))
    if not _gold_turn(rng):
        return None
    pool = list(
        selectors.gold_candidates(reviewer=reviewer, category=category).values_list(
            "pk", flat=True
        )[:_DRAW_POOL]
    )
    if not pool:
        return None
    gold = GoldEntry.objects.select_related("entry__category").get(pk=rng.choice(pool))
    hand_out = GoldReview.objects.create(gold=gold, reviewer=reviewer, handed_at=now)
    return _handed(hand_out)


# --- Answering and skipping (services.reviews.review_record / review_skip) -----------------


def _caught(gold: GoldEntry, verdict: str, reasons: list[str]) -> bool:
    """Whether an answer matches the known verdict; for a known-bad entry it must also name one of
    the reasons the moderator gave (a rejection for the wrong reason misses)."""
    if verdict != gold.expected:
        return False
    return gold.expected == Verdict.APPROVE or bool(set(reasons) & set(gold.reasons))


def gold_hand_out_to_answer(*, entry: Entry, reviewer: AbstractBaseUser) -> GoldReview | None:
    """The reviewer's gold hand-out of `entry`, locked for their answer (gold_answer); None when
    `entry` did not reach them as gold (a normal review follows), a StateConflict when they
    answered it already. Call inside a transaction. The reviewer's row is locked first, as
    review_next locks it, so an answer and a "review next" handing the entry back or giving
    it up are serialised; a normal review (no hand-out) takes no lock here."""
    held = selectors.gold_hand_outs(reviewer=reviewer).filter(gold__entry=entry)
    if not held.exists():
        return None
    get_user_model().objects.select_for_update().filter(pk=reviewer.pk).first()
    hand_out = held.select_for_update(of=("self",)).select_related("gold").first()
    if hand_out is not None and hand_out.answered_at is not None:
        raise StateConflict("You have already reviewed this entry.")
    return hand_out


def _review_id() -> int:
    """An id for a gold answer's reply, drawn as a review's would be: the reply shows an `id`,
    and one from GoldReview's own sequence (small numbers, while review ids run far higher)
    would tell a gold hand-out apart. On PostgreSQL the review id sequence's next number is
    taken (and so never reused); SQLite (development, tests) has no sequence to draw from, so
    the highest review id plus one (the next review takes the same number there)."""
    table = Review._meta.db_table
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [table])
            return cursor.fetchone()[0]
    return (Review.objects.aggregate(n=Max("id"))["n"] or 0) + 1


def gold_answer(
    *,
    hand_out: GoldReview,
    entry: Entry,
    verdict: str,
    rating: int,
    reasons: list[str],
    comment: str,
    fixed: bool,
) -> Review:
    """Record the reviewer's answer to the gold entry they hold (gold_hand_out_to_answer, in the
    same transaction). Takes the review's cleaned values; a fix that came with it was checked as
    any review's fix is (services.reviews), but is not applied: a gold entry's text is the one
    its mark was made for. `fixed` says whether it would have changed the text.

    Returns the answer shaped as a Review for the caller's reply (never saved: its id is drawn
    as a review's, `_review_id`, and `fix_checked` stands in for the fix it would have had),
    so the page and the API answer as for any review. An answer given after the mark lapsed
    (unmarked, text or outcome changed) is kept but scores neither way (`caught` None).
    """
    hand_out.verdict = verdict
    hand_out.rating = rating
    hand_out.reasons = reasons
    hand_out.comment = comment
    hand_out.answered_at = timezone.now()
    hand_out.caught = (
        _caught(hand_out.gold, verdict, reasons)
        if selectors.gold_is_handable(gold=hand_out.gold)
        else None
    )
    hand_out.save()
    reply = Review(
        id=_review_id(),
        entry=entry,
        reviewer_id=hand_out.reviewer_id,
        round=entry.review_round,
        verdict=verdict,
        rating=rating,
        reasons=reasons,
        comment=comment,
        created_at=hand_out.answered_at,
    )
    reply.fix_checked = fixed
    return reply


def gold_skip(*, entry: Entry, reviewer: AbstractBaseUser) -> bool:
    """Pass on a gold hand-out: it is not handed to this reviewer again. False when they do not
    hold `entry` as gold (a normal skip follows)."""
    return bool(
        GoldReview.objects.filter(
            gold__entry=entry, reviewer=reviewer, answered_at__isnull=True, skipped_at__isnull=True
        ).update(skipped_at=timezone.now())
    )
