"""Withdrawal from releases and erasure of a person's data (docs/writing-and-review.md,
"Withdrawal and erasure").

- Withdrawing an accepted entry from future releases keeps it out of every snapshot built from
  now on (annotation/holds.py); snapshots already built keep it. Its author may, and an admin
  (a superuser) for anyone, e.g. for someone who left or for an imported record. Final.
- Erasing a person empties every text they wrote or that was written about their entries, and
  their account, in one transaction; it keeps what decides and what scores (verdicts, ratings,
  reasons, decisions, the ledger of points), so that colleagues keep the points they earned and
  every sum still adds up. The account stays, emptied and inactive: the ledger and the reviews
  point at it.
"""

import uuid

from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Concat
from django.urls import reverse
from django.utils import dateformat, timezone

from annotation import selectors, throttle
from annotation.events import person_erased
from annotation.models import (
    ApiToken,
    Decision,
    EmailChoice,
    Entry,
    EntryStatus,
    Erasure,
    Flag,
    FlagStatus,
    GoldEntry,
    GoldReview,
    Notification,
    NotificationKind,
    Overturn,
    Profile,
    ReleaseRemoval,
    RemovalReason,
    Review,
    Revision,
)
from annotation.roles import is_admin
from annotation.services.flags import flag_close
from annotation.services.tokens import user_sessions_end
from annotation.text import ENTRY_FIELDS
from config.errors import ActionForbidden, StateConflict

# What a required text field holds once its words are erased (an optional one holds "").
ERASED = "(erased)"


# --- Withdrawal from future releases ---------------------------------------------------------


def entry_release_withdraw(*, entry: Entry, actor: AbstractBaseUser) -> ReleaseRemoval:
    """Keep an accepted entry out of every snapshot built from now on (final: no undo).

    Its author may; an admin (superuser) may for any entry, imported ones (which have no
    author) included. Moderators who are not admins may not: they overturn decisions instead.
    Only an accepted entry is released, so only an accepted one is withdrawn from releases.
    """
    if not (is_admin(actor) or (entry.author_id is not None and entry.author_id == actor.pk)):
        raise ActionForbidden(
            "Only the entry's author, or an admin, can withdraw it from future releases."
        )
    with transaction.atomic():
        entry = Entry.objects.select_for_update().get(pk=entry.pk)
        removal = ReleaseRemoval.objects.filter(entry=entry).first()
        if removal is not None and selectors.entry_is_erased(entry=entry):
            raise StateConflict(
                f"Entry #{entry.pk} was erased with its author's data on "
                f"{dateformat.format(timezone.localtime(removal.created_at), 'j M Y')}: it is in "
                "no future release."
            )
        if removal is not None:
            raise StateConflict(
                f"Entry #{entry.pk} was already withdrawn from future releases on "
                f"{dateformat.format(timezone.localtime(removal.created_at), 'j M Y')}."
            )
        if entry.status == EntryStatus.SUBMITTED:
            raise StateConflict(
                f"Entry #{entry.pk} is under review, not accepted: withdraw it from review "
                "instead, and it is never released."
            )
        if entry.status == EntryStatus.REJECTED:
            raise StateConflict(
                f"Entry #{entry.pk} was rejected: rejected entries are never released."
            )
        if entry.status != EntryStatus.ACCEPTED:
            raise StateConflict(
                f"Entry #{entry.pk} is {entry.get_status_display().lower()}: only an accepted "
                "entry is released, so only an accepted one can be withdrawn from releases."
            )
        removal = ReleaseRemoval.objects.create(
            entry=entry, reason=RemovalReason.WITHDRAWN, requested_by=actor
        )
        # The "what changed since" scans (the nightly snapshot's skip) see the entry changed.
        entry.save(update_fields=["updated_at"])
    return removal


# --- Erasure of a person ---------------------------------------------------------------------


def erase_confirmation_error(*, person: AbstractBaseUser, typed: str | None) -> str | None:
    """The page's and the API's typed confirmation: the person's username, exactly."""
    if (typed or "").strip() != person.get_username():
        return f"Type your username ({person.get_username()}) to confirm."
    return None


def person_erase(*, person: AbstractBaseUser, actor: AbstractBaseUser) -> Erasure:
    """Erase `person`'s data: at their own request, or an admin's (superuser). Final.

    Erased, in one transaction:
    - their drafts that were never submitted (deleted);
    - the text (instruction, context, response, source URL) of every other entry they wrote,
      and of every revision of those entries; each such entry is kept out of future releases
      (ReleaseRemoval "erased"; a "withdrawn" one becomes "erased"), and one under review is
      withdrawn from review (its lease released), so that nobody reviews an empty entry; their
      gold marks are lifted, so that none is handed to a reviewer empty, and their open flags
      are closed;
    - the text of every revision they made on colleagues' entries (a reviewer's fix). The fix
      stays in that entry's current text, which is the colleague's entry (a few words at most);
    - the comments of their reviews and gold answers, and of the reviews and gold answers of
      their entries (a comment can quote the text); the free text of their moderation (flags
      they raised or resolved, their decisions' and overturns' reasons, and the reason quoted
      in the notification an overturn sent); the flags of their entries (evidence can quote
      the text, and personal-data findings' keys hold masked values of it);
    - their notifications and API tokens, their sessions, the leases they hold on colleagues'
      entries, and their account's personal data: username "erased-<id>-<random>" (sign-up
      refuses names starting "erased-"), no e-mail, no name, no password, inactive, no staff or
      admin rights nor groups, no display name, no company-account link, hidden on leaderboards;
    - the admin's history (LogEntry) of their account and entries: the name it kept of each
      (an entry's is its instruction) and the change message.

    Kept: whatever decides or scores (reviews' verdicts, ratings and reasons, decisions, the
    ledger of points, standings, agreement acceptances), so that every sum stays correct and
    colleagues keep the points they earned reviewing the erased entries.

    Sends annotation.events.person_erased (quality drops the entries from the duplicate index
    and settles their clusters; leaderboard checks its cached boards).
    """
    if not (actor.pk == person.pk or is_admin(actor)):
        raise ActionForbidden("Only the person themselves, or an admin, can erase their data.")
    user_model = get_user_model()
    old_username = person.get_username()
    with transaction.atomic():
        person = user_model.objects.select_for_update().get(pk=person.pk)
        if Erasure.objects.filter(person=person).exists():
            raise StateConflict(f"The data of account #{person.pk} is already erased.")
        now = timezone.now()

        drafts = Entry.objects.filter(
            author=person, status=EntryStatus.DRAFT, submitted_at__isnull=True
        )
        draft_ids = list(drafts.values_list("pk", flat=True))
        drafts.delete()
        entries = Entry.objects.select_for_update().filter(author=person)
        entry_ids = sorted(entries.values_list("pk", flat=True))
        ours = Entry.objects.filter(pk__in=entry_ids)
        ours.filter(status=EntryStatus.SUBMITTED).update(
            status=EntryStatus.WITHDRAWN, leased_to=None, lease_expires_at=None, updated_at=now
        )
        ours.update(**dict.fromkeys(ENTRY_FIELDS, ""), draft_key=None, updated_at=now)
        # Leases they hold on colleagues' entries go back to the queue.
        Entry.objects.filter(leased_to=person).update(
            leased_to=None, lease_expires_at=None, updated_at=now
        )
        # An emptied entry is handed to nobody as gold (selectors.gold_handable).
        GoldEntry.objects.filter(entry_id__in=entry_ids).update(is_active=False)
        ReleaseRemoval.objects.filter(entry_id__in=entry_ids).update(reason=RemovalReason.ERASED)
        removed = set(
            ReleaseRemoval.objects.filter(entry_id__in=entry_ids).values_list("entry_id", flat=True)
        )
        ReleaseRemoval.objects.bulk_create(
            ReleaseRemoval(entry_id=pk, reason=RemovalReason.ERASED, requested_by=actor)
            for pk in entry_ids
            if pk not in removed
        )

        revisions = Revision.objects.filter(Q(entry_id__in=entry_ids) | Q(author=person)).update(
            **dict.fromkeys(ENTRY_FIELDS, "")
        )
        reviews = (
            Review.objects.filter(Q(reviewer=person) | Q(entry_id__in=entry_ids))
            .exclude(comment="")
            .update(comment="")
        )
        GoldReview.objects.filter(Q(reviewer=person) | Q(gold__entry_id__in=entry_ids)).exclude(
            comment=""
        ).update(comment="")

        Flag.objects.filter(entry_id__in=entry_ids).update(
            evidence=ERASED,
            note="",
            evidence_key=Concat(Value("erased:"), Cast("pk", CharField())),
        )
        for flag in Flag.objects.filter(entry_id__in=entry_ids, status=FlagStatus.OPEN):
            flag_close(flag=flag, note="Erased with its author's data")
        Flag.objects.filter(raised_by=person).update(evidence=ERASED)
        Flag.objects.filter(resolved_by=person).update(note="")
        Decision.objects.filter(Q(decided_by=person) | Q(entry_id__in=entry_ids)).exclude(
            reason=""
        ).update(reason="")
        # Before the reasons go: the notices are found by the reason they quote. Those sent to
        # the erased author about their own entries are deleted below with all of theirs.
        _overturn_notices_erase(Overturn.objects.filter(moderator=person))
        Overturn.objects.filter(Q(moderator=person) | Q(decision__entry_id__in=entry_ids)).update(
            reason=ERASED
        )
        _admin_history_erase(person=person, entry_ids=[*entry_ids, *draft_ids])

        Notification.objects.filter(recipient=person).delete()
        ApiToken.objects.filter(user=person).delete()

        was_active = person.is_active
        person.username = erased_username(person)
        person.email = ""
        person.first_name = ""
        person.last_name = ""
        person.set_unusable_password()
        person.is_active = False
        person.is_staff = False
        person.is_superuser = False
        # Deactivating ends their sessions (annotation/receivers.py, which revokes the tokens
        # too); an account deactivated before had them ended then.
        person.save()
        person.groups.clear()
        person.user_permissions.clear()
        Profile.objects.update_or_create(
            user=person,
            defaults={
                "display_name": "",
                "oidc_identity": "",
                "show_on_leaderboard": False,
                "email_notifications": EmailChoice.NONE,
            },
        )
        if not was_active:
            user_sessions_end(user=person)  # in case it was deactivated without a save

        erasure = Erasure.objects.create(
            person=person,
            erased_by=actor,
            entries=len(entry_ids),
            revisions=revisions,
            reviews=reviews,
        )
        person_erased.send(sender=Erasure, person=person, entry_ids=entry_ids)
    # Failed sign-ins are kept under the username typed: forget the old one's.
    throttle.forget_username_failures(username=old_username)
    return erasure


def erased_username(person: AbstractBaseUser) -> str:
    """An erased account's username: one sign-up never gives ("erased-" is refused there,
    services.accounts.username_refusal), with a random part, so that no account has it."""
    return f"erased-{person.pk}-{uuid.uuid4().hex[:8]}"


def _admin_history_erase(*, person: AbstractBaseUser, entry_ids: list[int]) -> None:
    """The admin's history keeps the name of each object it logged (an entry's holds its
    instruction, a user's is the username) and what changed: both go for the person's account
    and entries; who did what when stays."""
    user_type = ContentType.objects.get_for_model(person)
    entry_type = ContentType.objects.get_for_model(Entry)
    LogEntry.objects.filter(
        Q(content_type=user_type, object_id=str(person.pk))
        | Q(content_type=entry_type, object_id__in=[str(pk) for pk in entry_ids])
    ).update(object_repr="erased", change_message="")


def _overturn_notices_erase(overturns) -> None:
    """The notification an overturn sent its entry's author quotes the moderator's reason
    (services.notifications.notify_entry_overturned): keep the notice, erase the quote. Only
    the notices of these overturns: each is the first notice on its entry, to its author, made
    at or after the overturn, that quotes its reason (another moderator's overturn of the same
    entry sent its own)."""
    marker = "Reason: "
    for overturn in overturns.select_related("decision__entry"):
        entry = overturn.decision.entry
        link = reverse("annotation:entry_detail", args=[entry.pk])
        notices = Notification.objects.filter(
            kind=NotificationKind.ENTRY_OVERTURNED,
            recipient_id=entry.author_id,
            link=link,
            created_at__gte=overturn.created_at,
            text__contains=marker,
        ).order_by("created_at", "pk")
        for notice in notices:
            head, quoted = notice.text.split(marker, 1)
            if _quotes(quoted, overturn.reason):
                Notification.objects.filter(pk=notice.pk).update(text=f"{head}{marker}{ERASED}")
                break


def _quotes(quoted: str, reason: str) -> bool:
    """Whether a notice's quote is `reason`, whole or cut short with "…"."""
    return quoted == reason or (quoted.endswith("…") and reason.startswith(quoted[:-1]))
