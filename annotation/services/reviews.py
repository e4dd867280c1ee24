import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from annotation import selectors
from annotation.events import entry_decided, entry_overturned, review_recorded
from annotation.models import (
    MAX_COMMENT_CHARS,
    MAX_DECISION_REASON_CHARS,
    OUTCOME_OF_VERDICT,
    Category,
    Decision,
    Entry,
    EntryStatus,
    Outcome,
    Overturn,
    OverturnVerdict,
    Review,
    ReviewSkip,
    Verdict,
    reject_reasons_unknown,
)
from annotation.roles import is_moderator
from annotation.services import gold
from annotation.services.entries import entry_new_round, revision_record
from annotation.services.notifications import (
    notify_entry_decided,
    notify_entry_fixed,
    notify_entry_overturned,
)
from annotation.text import (
    ENTRY_FIELDS,
    TEXT_FIELDS,
    fix_errors,
    normalize_fields,
    validate_submission,
)
from config.errors import ActionForbidden, StateConflict


def _require_under_review(entry: Entry) -> None:
    if entry.status != EntryStatus.SUBMITTED:
        raise StateConflict(
            f"This entry is not under review (it is {entry.get_status_display().lower()})."
        )


def _lease_length() -> datetime.timedelta:
    return datetime.timedelta(minutes=settings.FLOCK_REVIEW_LEASE_MINUTES)


def review_next(*, reviewer: AbstractBaseUser, category: Category | None = None) -> Entry | None:
    """Lease the next entry for `reviewer`, or None when nothing is left for them.

    A reviewer holds at most one lease: an entry already leased to them (and still wanted) comes
    back first. Otherwise their old lease is released and the queue's head is taken with
    SELECT … FOR UPDATE SKIP LOCKED, so that reviewers asking at the same moment each lock a
    different row and nobody waits; the lease is written in the same transaction.
    Gold entries (services/gold.py) take part: a gold hand-out the reviewer holds comes back
    before anything else, and now and then one is handed out instead of the queue's head.
    """
    now = timezone.now()
    with transaction.atomic():
        # One hand-out per reviewer at a time, so two quick clicks cannot take two leases.
        get_user_model().objects.select_for_update().filter(pk=reviewer.pk).values_list(
            "pk"
        ).first()
        held_gold = gold.gold_held(reviewer=reviewer, category=category, now=now)
        if held_gold is not None:
            return held_gold
        queue = selectors.review_queue(reviewer=reviewer, category=category, now=now)
        # Most asks hold no lease (recording a review released it): one look-up by index, and
        # the queue is read once, for its head.
        held = Entry.objects.filter(leased_to=reviewer).values_list("pk", flat=True).first()
        entry = None
        if held is not None:
            entry = queue.filter(pk=held).select_for_update(of=("self",)).first()
            if entry is None:  # no longer wanted (reviewed, withdrawn, another category)
                Entry.objects.filter(leased_to=reviewer).update(
                    leased_to=None, lease_expires_at=None
                )
        if entry is None:
            entry = queue.select_for_update(skip_locked=True, of=("self",)).first()
            # Gold stands in only for a head there is, so it never shows where the queue is empty.
            if entry is not None:
                drawn_gold = gold.gold_drawn(reviewer=reviewer, category=category, now=now)
                if drawn_gold is not None:
                    return drawn_gold
        if entry is None:
            return None
        entry.leased_to = reviewer
        entry.lease_expires_at = now + _lease_length()
        entry.save(update_fields=["leased_to", "lease_expires_at"])
    return entry


def review_skip(*, entry: Entry, reviewer: AbstractBaseUser) -> None:
    """Pass on an entry: its lease is released and the queue stops offering it to this reviewer."""
    if gold.gold_skip(entry=entry, reviewer=reviewer):
        return
    with transaction.atomic():
        ReviewSkip.objects.get_or_create(entry=entry, reviewer=reviewer)
        Entry.objects.filter(pk=entry.pk, leased_to=reviewer).update(
            leased_to=None, lease_expires_at=None
        )


def _verdict_error(verdict: str) -> dict[str, str]:
    return {} if verdict in Verdict.values else {"verdict": "Choose approve or reject."}


def _clean_review(
    *, verdict: str, rating, reasons: list[str], comment: str, fix_values: dict
) -> tuple[int, list[str], str]:
    errors: dict[str, str] = _verdict_error(verdict)
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        rating = 0
    if not 1 <= rating <= 5:
        errors["rating"] = "Rate the entry's quality from 1 to 5."
    reasons = list(dict.fromkeys(reasons or []))
    unknown = reject_reasons_unknown(reasons)
    if unknown:
        errors["reasons"] = unknown
    elif verdict == Verdict.REJECT and not reasons:
        errors["reasons"] = "Give at least one reason for a rejection, so the author can fix it."
    elif verdict == Verdict.APPROVE:
        reasons = []
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT_CHARS:
        errors["comment"] = f"Keep the comment to {MAX_COMMENT_CHARS:,} characters."
    if fix_values and verdict == Verdict.REJECT:
        errors["verdict"] = "Fixes go with an approval; to ask the author for changes, reject."
    if errors:
        raise ValidationError(errors)
    return rating, reasons, comment


def _fix_changed(entry: Entry, fix_values: dict | None) -> dict[str, str]:
    """What a fix changes in the entry's text: its text fields that differ from the entry's once
    normalised. The page sends only what the reviewer edited, the API every field it was given;
    both mean this."""
    changes = normalize_fields({k: v for k, v in (fix_values or {}).items() if k in TEXT_FIELDS})
    return {k: v for k, v in changes.items() if getattr(entry, k) != v}


def _vet_fix(entry: Entry, changed: dict[str, str], seen_revision: int | None) -> None:
    """Refuse a fix (`changed`: _fix_changed) made on an older text than the entry's now (409:
    another reviewer fixed it meanwhile, and theirs would be undone), one that rewrites rather
    than corrects, or text the entry's rules refuse (400). A gold answer's fix is vetted the
    same way, though never applied, so that its reply gives nothing away."""
    if not changed:
        return
    if seen_revision is not None:
        latest = entry.revisions.aggregate(n=Max("number"))["n"] or 0
        if latest != seen_revision:
            raise StateConflict(
                "Another reviewer changed this entry while you were reviewing it; "
                "look at the new text and review again."
            )
    errors = fix_errors(before={name: getattr(entry, name) for name in changed}, after=changed)
    if errors:
        raise ValidationError(errors)
    values = {name: getattr(entry, name) for name in ENTRY_FIELDS} | changed
    validate_submission(category=entry.category, values=values)


def _apply_fix(entry: Entry, reviewer: AbstractBaseUser, fix_values: dict):
    """Store a reviewer's corrections (vetted: _vet_fix) as a revision by the reviewer; None when
    nothing changed."""
    changed = _fix_changed(entry, fix_values)
    if not changed:
        return None
    if not entry.revisions.exists():
        # Keep the author's text as the baseline, so the fix can be shown as a diff against it.
        revision_record(entry=entry, author=entry.author)
    for name, value in changed.items():
        setattr(entry, name, value)
    entry.save(update_fields=[*changed, "updated_at"])
    return revision_record(entry=entry, author=reviewer)


def review_record(
    *,
    entry: Entry,
    reviewer: AbstractBaseUser,
    verdict: str,
    rating: int,
    reasons: list[str] | None = None,
    comment: str = "",
    fix_values: dict | None = None,
    seen_revision: int | None = None,
) -> Review:
    """Record one review and, if it tips the balance, decide the entry in the same transaction.

    The entry's row is locked first, so two reviews of one entry are serialised: the decision is
    taken exactly once, by whichever review reaches the threshold (see `_consensus`).
    `seen_revision` is the revision the reviewer was shown: a fix made on an older text than
    the entry's now (another reviewer fixed it meanwhile) is refused rather than undoing theirs.
    The review counts toward consensus and points only while the reviewer's gold accuracy is
    good (`Review.counts`, selectors.reviewer_in_good_standing, read now).
    """
    fix_values = _fix_changed(entry, fix_values)
    rating, reasons, comment = _clean_review(
        verdict=verdict, rating=rating, reasons=reasons, comment=comment, fix_values=fix_values
    )
    if fix_values and not selectors.fix_allowed(reviewer=reviewer):
        raise ActionForbidden(
            "Accept the contributor agreement before fixing an entry's text: a fix becomes part "
            "of the released data. You can record this review without the fix."
        )
    with transaction.atomic():
        # An entry handed out as gold takes the answer apart (services/gold.py): no Review, no
        # decision, no points, no notification, and no fix applied (but vetted, as below).
        hand_out = gold.gold_hand_out_to_answer(entry=entry, reviewer=reviewer)
        if hand_out is not None:
            _vet_fix(entry, fix_values, seen_revision)
            answer = dict(verdict=verdict, rating=rating, reasons=reasons, comment=comment)
            return gold.gold_answer(
                hand_out=hand_out, entry=entry, fixed=bool(fix_values), **answer
            )
        entry = (
            Entry.objects.select_for_update(of=("self",))
            .select_related("category")
            .get(pk=entry.pk)
        )
        if entry.author_id == reviewer.pk:
            raise ActionForbidden("You cannot review your own entry.")
        _require_under_review(entry)
        if Review.objects.filter(entry=entry, reviewer=reviewer).exists():
            raise StateConflict("You have already reviewed this entry.")
        _vet_fix(entry, fix_values, seen_revision)
        fix = _apply_fix(entry, reviewer, fix_values) if fix_values else None
        if fix is not None:
            notify_entry_fixed(entry=entry)
        try:
            review = Review.objects.create(
                entry=entry,
                reviewer=reviewer,
                round=entry.review_round,
                verdict=verdict,
                rating=rating,
                reasons=reasons,
                comment=comment,
                fix=fix,
                counts=selectors.reviewer_in_good_standing(reviewer=reviewer),
            )
        except IntegrityError:
            # Raised at once, so the whole transaction (a fix with it) is rolled back as it
            # leaves the block: nothing else runs on the failed transaction.
            raise StateConflict("You have already reviewed this entry.") from None
        review_recorded.send(sender=Review, review=review)
        entry.review_count += 1
        if entry.leased_to_id == reviewer.pk:
            entry.release_lease()
        entry.save(update_fields=["review_count", *Entry.LEASE_FIELDS])
        _consensus(entry)
    return review


def _round_votes(entry: Entry) -> tuple[int, int]:
    # A reviewer whose gold accuracy fell short gave a review that does not count (Review.counts).
    votes = Review.objects.filter(
        selectors.votes_counting(), entry=entry, round=entry.review_round
    ).aggregate(
        approvals=Count("pk", filter=Q(verdict=Verdict.APPROVE)),
        rejections=Count("pk", filter=~Q(verdict=Verdict.APPROVE)),
    )
    return votes["approvals"], votes["rejections"]


def _consensus(entry: Entry) -> Decision | None:
    """Accepted at FLOCK_ACCEPT_APPROVALS approvals if approvals outnumber rejections; rejected
    at FLOCK_REJECT_REJECTIONS rejections; otherwise the round stays open."""
    approvals, rejections = _round_votes(entry)
    if rejections >= settings.FLOCK_REJECT_REJECTIONS:
        outcome = Outcome.REJECTED
    elif approvals >= settings.FLOCK_ACCEPT_APPROVALS and approvals > rejections:
        outcome = Outcome.ACCEPTED
    else:
        return None
    return _decide(entry, outcome=outcome, approvals=approvals, rejections=rejections)


def _decide(
    entry: Entry,
    *,
    outcome: str,
    approvals: int,
    rejections: int,
    decided_by: AbstractBaseUser | None = None,
    reason: str = "",
    overturn: Overturn | None = None,
) -> Decision:
    """Close the entry's current round (again, when `overturn` replaces its decision). Callers
    hold the entry's row lock."""
    decision = Decision.objects.create(
        entry=entry,
        round=entry.review_round,
        outcome=outcome,
        decided_by=decided_by,
        reason=reason,
        approvals=approvals,
        rejections=rejections,
        overturn=overturn,
    )
    entry.status = outcome
    entry.decided_at = decision.created_at
    # The lease ends, but a reviewer still holding the entry keeps it until they ask for another
    # (review_next), so that they may still read it and their late review is told it was decided
    # (selectors.entries_visible_to), not that the entry does not exist.
    entry.lease_expires_at = None
    entry.save(update_fields=["status", "decided_at", *Entry.LEASE_FIELDS, "updated_at"])
    # Scoring (leaderboard) happens here, in this transaction: see annotation/events.py.
    entry_decided.send(sender=Decision, decision=decision)
    if overturn is None:  # an overturn's author is told by entry_overturn, with the reason
        notify_entry_decided(decision=decision)
    return decision


def entry_decide(
    *, entry: Entry, moderator: AbstractBaseUser, verdict: str, reason: str
) -> Decision:
    """A moderator accepts or rejects an entry under review, overriding the votes so far."""
    if not is_moderator(moderator):
        raise ActionForbidden("Only moderators can decide entries directly.")
    if entry.author_id == moderator.pk:
        raise ActionForbidden("Moderators do not decide their own entries; colleagues review them.")
    reason = (reason or "").strip()
    errors = _verdict_error(verdict) | _reason_error(
        reason, missing="Say why you are overriding the reviewers; the author will see it."
    )
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        entry = Entry.objects.select_for_update().get(pk=entry.pk)
        _require_under_review(entry)
        approvals, rejections = _round_votes(entry)
        return _decide(
            entry,
            outcome=OUTCOME_OF_VERDICT[verdict],
            approvals=approvals,
            rejections=rejections,
            decided_by=moderator,
            reason=reason,
        )


def _reason_error(reason: str, *, missing: str) -> dict[str, str]:
    """A moderator's reason (a decision's, an overturn's), which the author reads: required, and
    at most MAX_DECISION_REASON_CHARS."""
    if not reason:
        return {"reason": missing}
    if len(reason) > MAX_DECISION_REASON_CHARS:
        return {"reason": f"Keep the reason to {MAX_DECISION_REASON_CHARS:,} characters."}
    return {}


def _clean_overturn(verdict: str, reason: str) -> str:
    reason = (reason or "").strip()
    errors = {}
    if verdict not in OverturnVerdict.values:
        errors["verdict"] = "Choose approve, reject or reopen."
    errors |= _reason_error(
        reason, missing="Say why you are overturning the decision; the author will see it."
    )
    if errors:
        raise ValidationError(errors)
    return reason


def _decision_to_overturn(entry: Entry, verdict: str, seen_decision_id: int | None) -> Decision:
    """The entry's current decision, if `verdict` can overturn it; a StateConflict saying why
    not otherwise. Call while holding the entry's row lock."""
    if entry.status == EntryStatus.SUBMITTED:
        raise StateConflict(
            "This entry is under review, not decided: accept or reject it (moderator decision)."
        )
    if entry.status not in (EntryStatus.ACCEPTED, EntryStatus.REJECTED):
        raise StateConflict(
            f"Only a decided entry can be overturned; this one is "
            f"{entry.get_status_display().lower()}."
        )
    decision = selectors.decision_current(entry=entry)
    if decision is None:
        raise StateConflict(
            "This entry has no review decision to overturn (imported entries were accepted "
            "without one)."
        )
    if seen_decision_id is not None and decision.pk != seen_decision_id:
        raise StateConflict(
            "Another moderator changed this entry's outcome meanwhile; look at it again."
        )
    if verdict != OverturnVerdict.REOPEN and decision.outcome == OUTCOME_OF_VERDICT[verdict]:
        raise StateConflict(f"This entry is already {decision.get_outcome_display().lower()}.")
    return decision


def entry_overturn(
    *,
    entry: Entry,
    moderator: AbstractBaseUser,
    verdict: str,
    reason: str,
    seen_decision_id: int | None = None,
) -> Overturn:
    """A moderator overturns a decided entry's outcome (`approve`, `reject`) or reopens it for
    review (`reopen`), with a reason its author reads.

    The entry's row is locked, so two overturns of one entry are serialised and a decision is
    overturned at most once. The points the overturned decision earned are taken back in the
    ledger (entry_overturned: leaderboard writes compensating events) before the round is
    decided again: approve/reject make a new decision of the same round (entry_decided scores
    it, the reviews agreeing with the new outcome earning); reopen starts a new round.
    `seen_decision_id` is the decision the moderator was shown, if known: a page refuses to
    overturn a decision that changed since.
    """
    if not is_moderator(moderator):
        raise ActionForbidden("Only moderators can overturn decisions.")
    if entry.author_id == moderator.pk:
        raise ActionForbidden(
            "Moderators do not overturn decisions on their own entries; ask a colleague."
        )
    reason = _clean_overturn(verdict, reason)
    with transaction.atomic():
        entry = (
            Entry.objects.select_for_update(of=("self",))
            .select_related("category")
            .get(pk=entry.pk)
        )
        if selectors.entry_is_erased(entry=entry):
            # Its text is gone (services.erasure): nobody can judge it again, nor review it.
            raise StateConflict(
                "This entry was erased with its author's data: its outcome cannot be "
                "overturned, nor can it be reopened for review."
            )
        decision = _decision_to_overturn(entry, verdict, seen_decision_id)
        try:
            with transaction.atomic():
                overturn = Overturn.objects.create(
                    decision=decision, verdict=verdict, reason=reason, moderator=moderator
                )
        except IntegrityError:
            raise StateConflict("This decision was overturned already.") from None
        # Points first taken back (leaderboard), in this transaction: see annotation/events.py.
        entry_overturned.send(sender=Overturn, overturn=overturn)
        if verdict == OverturnVerdict.REOPEN:
            entry_new_round(entry, status=EntryStatus.SUBMITTED)
        else:
            approvals, rejections = _round_votes(entry)
            _decide(
                entry,
                outcome=OUTCOME_OF_VERDICT[verdict],
                approvals=approvals,
                rejections=rejections,
                decided_by=moderator,
                reason=reason,
                overturn=overturn,
            )
        notify_entry_overturned(overturn=overturn)
    return overturn
