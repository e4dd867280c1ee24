"""Notifications: what happened to a person's work, in their list and by e-mail as they chose.

Each notification is made in the transaction of the event it tells about (a decision, a fix, a
finalised contest), so it exists exactly when the event does. E-mail goes out in Celery, queued
after that transaction commits: one mail as it happens for those who chose "each", one daily
digest (the beat job `annotation.tasks.notifications_digest`) for those who chose "digest", and
none for "none". A notification's text says only what its recipient may read: the outcome of
their own entry, that a reviewer fixed it (not the fix: authors see a fix once the round is
decided, selectors.entry_feedback), a moderator's overturn of their entry's outcome with the
reason, their own contest placing.
"""

import datetime
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from annotation import selectors
from annotation.models import (
    Decision,
    EmailChoice,
    Entry,
    Notification,
    NotificationKind,
    Outcome,
    Overturn,
    OverturnVerdict,
    Profile,
)
from annotation.services.accounts import profile_ensure
from config.celery import enqueue_on_commit

User = get_user_model()
EACH, DIGEST, NONE = EmailChoice.EACH, EmailChoice.DIGEST, EmailChoice.NONE
EMAIL_TASK = "annotation.tasks.notification_email"
# A first digest (the person never had one) tells at most this far back.
FIRST_DIGEST_SPAN = datetime.timedelta(days=1)
DIGEST_OVERLAP = datetime.timedelta(hours=1)


def notifications_create(*, kind: str, link: str, texts: dict[int, str]) -> list[Notification]:
    """One notification of `kind` for each active recipient (user id -> text), all linking to
    `link`; each mail of those who want every one is queued after the transaction commits.
    An inactive account (left, or erased: services.erasure) is told nothing."""
    active = set(
        User.objects.filter(pk__in=list(texts), is_active=True).values_list("pk", flat=True)
    )
    made = Notification.objects.bulk_create(
        [
            Notification(recipient_id=uid, kind=kind, text=text, link=link)
            for uid, text in texts.items()
            if uid in active
        ]
    )
    eager = selectors.users_choosing_email(user_ids=list(texts), choice=EACH)
    for notification in made:
        if notification.recipient_id in eager:
            enqueue_on_commit(EMAIL_TASK, notification.pk, what=f"the mail of {notification}")
    return made


def _entry_name(entry: Entry) -> str:
    return f"your {entry.category.name} entry #{entry.pk}"


def notify_entry_decided(*, decision: Decision) -> Notification | None:
    """Tell the author their entry was accepted or rejected (by the reviewers or a moderator)."""
    entry = decision.entry
    if entry.author_id is None:  # imported entries have no author to tell
        return None
    verdict = "accepted" if decision.outcome == Outcome.ACCEPTED else "rejected"
    by = "a moderator" if decision.by_moderator else "the reviewers"
    text = f"Your {entry.category.name} entry #{entry.pk} was {verdict} by {by}."
    link = reverse("annotation:entry_detail", args=[entry.pk])
    made = notifications_create(
        kind=NotificationKind.ENTRY_DECIDED, link=link, texts={entry.author_id: text}
    )
    return made[0] if made else None


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def notify_entry_overturned(*, overturn: Overturn) -> Notification | None:
    """Tell the author a moderator overturned their entry's outcome (or reopened it), with the
    moderator's reason: as much of it as a notification holds; the entry's page has it all."""
    entry = overturn.decision.entry
    if entry.author_id is None:
        return None
    now = {
        OverturnVerdict.APPROVE: "it is now accepted",
        OverturnVerdict.REJECT: "it is now rejected",
        OverturnVerdict.REOPEN: "it is back under review",
    }[overturn.verdict]
    was = overturn.decision.get_outcome_display().lower()
    head = f"A moderator overturned the decision on {_entry_name(entry)} (was {was}): {now}. "
    limit = Notification._meta.get_field("text").max_length
    text = head + _cut(f"Reason: {overturn.reason}", limit - len(head))
    link = reverse("annotation:entry_detail", args=[entry.pk])
    made = notifications_create(
        kind=NotificationKind.ENTRY_OVERTURNED, link=link, texts={entry.author_id: text}
    )
    return made[0] if made else None


def notify_entry_fixed(*, entry: Entry) -> Notification | None:
    """Tell the author a reviewer fixed their entry's text; not the fix itself, which the author
    sees once the round is decided (selectors.entry_feedback)."""
    if entry.author_id is None:
        return None
    text = (
        f"A reviewer fixed a typo in {_entry_name(entry)}; you will see the change once the "
        f"review round is decided."
    )
    link = reverse("annotation:entry_detail", args=[entry.pk])
    made = notifications_create(
        kind=NotificationKind.ENTRY_FIXED, link=link, texts={entry.author_id: text}
    )
    return made[0] if made else None


def notifications_mark_read(
    *, user: AbstractBaseUser, notification_ids: Iterable[int] | None = None
) -> int:
    """Mark the user's unread notifications read (only these ids, if given); how many were."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=list(notification_ids))
    return unread.update(read_at=timezone.now())


def _absolute(link: str) -> str:
    return f"{settings.FLOCK_SITE_URL.rstrip('/')}{link}" if link else ""


def _choice(user: AbstractBaseUser) -> str:
    profile = Profile.objects.filter(user=user).only("email_notifications").first()
    return profile.email_notifications if profile else Profile().email_notifications


def notification_email_send(*, notification_id: int) -> bool:
    """Mail one notification to its recipient, once, if they still want each one by mail."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update()
            .select_related("recipient")
            .filter(pk=notification_id, emailed_at__isnull=True)
            .first()
        )
        if notification is None:
            return False
        recipient = notification.recipient
        if not recipient.email or not recipient.is_active or _choice(recipient) != EACH:
            return False
        link = _absolute(notification.link)
        send_mail(
            subject=f"Flock: {notification.get_kind_display().lower()}",
            message=(
                f"Hello {recipient.get_username()},\n\n{notification.text}\n"
                + (f"\n{link}\n" if link else "")
                + _footer()
            ),
            from_email=None,
            recipient_list=[recipient.email],
        )
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["emailed_at"])
    return True


def _footer() -> str:
    return (
        f"\nChoose which e-mails Flock sends you on your profile: {_absolute(reverse('profile'))}\n"
    )


def notifications_send_digests(*, now: datetime.datetime | None = None) -> int:
    """The daily digest: one mail to each digest subscriber of what happened since their last
    one (nothing to those to whom nothing happened); how many mails were sent."""
    now = now or timezone.now()
    sent = 0
    for user_id in selectors.digest_recipients(until=now):
        with transaction.atomic():
            profile_ensure(user=User(pk=user_id))
            profile = Profile.objects.select_for_update().select_related("user").get(user=user_id)
            if profile.email_notifications != DIGEST:  # changed their mind meanwhile
                continue
            # From the last digest, less DIGEST_OVERLAP: a notification is stamped when its
            # event's transaction runs, and one still open when the last digest ran committed
            # after it with an earlier time. emailed_at keeps anything from going out twice.
            since = (
                profile.digest_sent_at - DIGEST_OVERLAP
                if profile.digest_sent_at
                else now - FIRST_DIGEST_SPAN
            )
            news = list(
                Notification.objects.filter(
                    recipient=profile.user,
                    created_at__gt=since,
                    created_at__lte=now,
                    emailed_at__isnull=True,
                ).order_by("created_at", "pk")
            )
            profile.digest_sent_at = now
            profile.save(update_fields=["digest_sent_at"])
            if not news or not profile.user.email:
                continue
            lines = "\n".join(
                f"- {n.text}" + (f"\n  {_absolute(n.link)}" if n.link else "") for n in news
            )
            send_mail(
                subject=f"Flock: {len(news)} notification{'s' if len(news) != 1 else ''} today",
                message=(
                    f"Hello {profile.user.get_username()},\n\nWhat happened since your last "
                    f"digest:\n\n{lines}\n" + _footer()
                ),
                from_email=None,
                recipient_list=[profile.user.email],
            )
            Notification.objects.filter(pk__in=[n.pk for n in news]).update(emailed_at=now)
            sent += 1
    return sent
