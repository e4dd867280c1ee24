"""Notifications: made for the right person at each event, mailed as each person chose (through
Celery, after the event commits), the daily digest, the menu's badge and the list page."""

import datetime

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from annotation import selectors, services, tasks
from annotation.models import Notification, NotificationKind, Profile
from tests.factories import UserFactory, approve, category, reject, submitted

pytestmark = pytest.mark.django_db


def choose(user, choice):
    services.profile_update(
        user=user, display_name="", team=None, show_on_leaderboard=True, email_notifications=choice
    )


def notify(user, text="Something happened.", **fields):
    return Notification.objects.create(
        recipient=user, kind=NotificationKind.ENTRY_DECIDED, text=text, link="/entries/", **fields
    )


# --- Who is told what --------------------------------------------------------------------------


def test_a_decision_by_consensus_tells_the_author_only(alice, bob, carol):
    entry = submitted(alice)
    approve(entry, bob)
    assert not Notification.objects.exists()  # an open round tells nobody anything
    approve(entry, carol)
    notification = Notification.objects.get()
    assert notification.recipient == alice
    assert notification.kind == NotificationKind.ENTRY_DECIDED
    assert "was accepted by the reviewers" in notification.text
    assert notification.link == reverse("annotation:entry_detail", args=[entry.pk])
    assert notification.read_at is None and notification.emailed_at is None


def test_a_rejection_and_a_moderators_decision_are_told(alice, bob, carol, dave):
    rejected = submitted(alice)
    reject(rejected, bob)
    reject(rejected, dave)
    overruled = submitted(alice)
    services.entry_decide(entry=overruled, moderator=carol, verdict="approve", reason="Fine.")
    texts = [n.text for n in selectors.notifications_of(user=alice)]
    assert texts[0].endswith("was accepted by a moderator.")
    assert texts[1].endswith("was rejected by the reviewers.")
    assert not Notification.objects.exclude(recipient=alice).exists()


def test_a_fix_tells_the_author_that_it_happened_but_not_what_it_says(alice, bob):
    entry = services.entry_create(
        author=alice,
        category=category("open_qa"),
        values={"instruction": "Waht is the capital of France?", "response": "Paris."},
    )
    services.agreement_accept(user=alice)
    services.entry_submit(entry=entry, actor=alice)
    services.agreement_accept(user=bob)
    approve(entry, bob, fix_values={"instruction": "What is the capital of Frankreich?"})

    notification = Notification.objects.get()
    assert notification.recipient == alice and notification.kind == NotificationKind.ENTRY_FIXED
    assert "fixed a typo" in notification.text
    assert "Frankreich" not in notification.text  # the fix shows once the round is decided
    assert notification.link == reverse("annotation:entry_detail", args=[entry.pk])


def test_imported_entries_without_an_author_tell_nobody(bob, carol):
    source = services.source_ensure(name="Dolly", license="cc-by-sa-3.0")
    entry = submitted(None, source=source)
    approve(entry, bob)
    approve(entry, carol)
    assert not Notification.objects.exists()


# --- E-mail, as each person chose -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_each_subscribers_are_mailed_through_celery_after_the_decision(worker):
    alice, bob, carol = (UserFactory(username=n) for n in ("alice", "bob", "carol"))
    dave = UserFactory(username="dave")
    choose(alice, "each")
    choose(dave, "none")
    mail.outbox.clear()
    entry = submitted(alice)
    approve(entry, bob)
    approve(entry, carol)
    quiet = submitted(dave)
    approve(quiet, bob)
    approve(quiet, carol)

    notification = Notification.objects.get(recipient=alice)
    _wait_for(lambda: Notification.objects.filter(pk=notification.pk, emailed_at__isnull=False))
    assert len(mail.outbox) == 1  # dave opted out: nothing for him
    message = mail.outbox[0]
    assert message.to == [alice.email]
    assert notification.text in message.body
    assert f"http://localhost:8000/entries/{entry.pk}/" in message.body
    assert Notification.objects.get(recipient=dave).emailed_at is None


def test_the_mail_task_sends_once_and_only_to_those_who_still_want_each(alice, bob):
    choose(alice, "each")
    wanted = notify(alice)
    mail.outbox.clear()
    assert tasks.notification_email.apply(args=[wanted.pk]).get() is True
    assert tasks.notification_email.apply(args=[wanted.pk]).get() is False  # not twice
    choose(bob, "digest")
    assert tasks.notification_email.apply(args=[notify(bob).pk]).get() is False
    choose(alice, "none")  # opted out after it was queued
    assert tasks.notification_email.apply(args=[notify(alice).pk]).get() is False
    assert [m.to for m in mail.outbox] == [[alice.email]]


def test_mail_is_queued_only_once_the_decision_commits(
    alice, bob, carol, django_capture_on_commit_callbacks, eager_celery
):
    choose(alice, "each")
    entry = submitted(alice)
    approve(entry, bob)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        approve(entry, carol)
    assert mail.outbox == [] and callbacks
    for callback in callbacks:
        callback()
    assert [m.to for m in mail.outbox] == [[alice.email]]


@pytest.mark.django_db(transaction=True)
def test_the_daily_digest_mails_each_subscriber_one_summary_of_what_is_new(worker):
    alice, bob, carol, dave = (UserFactory(username=n) for n in ("alice", "bob", "carol", "dave"))
    choose(alice, "digest")
    choose(bob, "digest")
    choose(carol, "none")
    # dave chose nothing: the digest is the default
    mail.outbox.clear()
    morning = timezone.localtime().replace(hour=7, minute=0, second=0, microsecond=0)
    with time_machine.travel(morning - datetime.timedelta(hours=5), tick=False):
        notify(alice, "First news.")
        notify(alice, "Second news.")
        notify(carol, "Carol's news.")
        notify(dave, "Dave's news.")
    with time_machine.travel(morning, tick=False):
        assert tasks.notifications_digest.delay().get(timeout=30) == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted([alice.email, dave.email])
    to_alice = next(m for m in mail.outbox if m.to == [alice.email])
    assert "2 notifications" in to_alice.subject
    assert "First news." in to_alice.body and "Second news." in to_alice.body
    assert "Dave" not in to_alice.body

    # The next day: only what happened since; nothing to those to whom nothing happened.
    mail.outbox.clear()
    with time_machine.travel(morning + datetime.timedelta(hours=3), tick=False):
        notify(alice, "Third news.")
    with time_machine.travel(morning + datetime.timedelta(days=1), tick=False):
        assert tasks.notifications_digest.delay().get(timeout=30) == 1
    assert [m.to for m in mail.outbox] == [[alice.email]]
    assert "Third news." in mail.outbox[0].body and "First news." not in mail.outbox[0].body
    assert "1 notification " in mail.outbox[0].subject


def test_the_digest_runs_daily_at_the_configured_hour_in_the_time_zone(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["notifications-digest"]
    assert entry["task"] == "annotation.tasks.notifications_digest"
    assert entry["schedule"].hour == {settings.FLOCK_DIGEST_HOUR}
    assert entry["schedule"].minute == {0}
    assert settings.CELERY_TIMEZONE == settings.TIME_ZONE


def _wait_for(found, timeout=30.0):
    """Poll until `found()` is truthy (a real worker sends the mail in its own thread)."""
    import time

    deadline = time.monotonic() + timeout
    while not found():
        assert time.monotonic() < deadline, "the mail was not sent in time"
        time.sleep(0.1)


# --- The badge, the list, opening and marking read ---------------------------------------------


def _notification_queries(client, path):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    return response, [q["sql"] for q in queries if "annotation_notification" in q["sql"]]


def test_the_badge_counts_unread_with_one_small_query(client, alice, bob):
    for n in range(3):
        notify(alice, f"News {n}")
    notify(alice, "Old news", read_at=timezone.now())
    notify(bob, "Bob's news")
    client.force_login(alice)
    response, queries = _notification_queries(client, reverse("annotation:category_list"))
    assert response.status_code == 200
    assert '<span class="badge" id="notifications-badge">3 new</span>' in response.text
    assert len(queries) == 1 and "COUNT(" in queries[0].upper()

    client.force_login(bob)
    assert 'id="notifications-badge">1 new' in client.get(reverse("profile")).text


def test_no_badge_without_unread_and_no_query_when_signed_out(client, alice):
    client.force_login(alice)
    response = client.get(reverse("annotation:category_list"))
    assert 'id="nav-notifications"' in response.text
    assert "notifications-badge" not in response.text
    client.logout()
    response, queries = _notification_queries(client, reverse("login"))
    assert response.status_code == 200 and queries == []


def test_the_list_is_paged_newest_first_and_marks_what_it_shows_read(client, alice, bob):
    start = timezone.now() - datetime.timedelta(days=1)
    for n in range(30):
        with time_machine.travel(start + datetime.timedelta(minutes=n), tick=False):
            notify(alice, f"News number {n:02d}.")
    notify(bob, "Bob's secret news.")
    client.force_login(alice)

    first = client.get(reverse("annotation:notification_list"))
    assert first.status_code == 200
    body = first.text
    assert "Bob's secret news." not in body
    assert body.index("News number 29.") < body.index("News number 05.")
    assert "News number 04." not in body  # on the second page
    assert selectors.notifications_unread_count(user=alice) == 5
    assert "notifications-badge" in body and ">5 new<" in body  # the badge after this page

    second = client.get(reverse("annotation:notification_list"), {"page": 2})
    assert "News number 04." in second.text and "News number 00." in second.text
    assert selectors.notifications_unread_count(user=alice) == 0
    assert selectors.notifications_unread_count(user=bob) == 1
    assert client.get(reverse("annotation:notification_list"), {"page": "x"}).status_code == 200


def test_mark_all_read_is_a_post_and_touches_only_ones_own(client, alice, bob):
    notify(alice)
    notify(alice)
    notify(bob)
    client.force_login(alice)
    url = reverse("annotation:notifications_read")
    assert client.get(url).status_code == 405
    response = client.post(url, follow=True)
    assert "Marked 2 notifications read." in response.text
    assert selectors.notifications_unread_count(user=alice) == 0
    assert selectors.notifications_unread_count(user=bob) == 1


def test_opening_a_notification_marks_it_read_and_goes_to_its_link(client, alice, bob):
    own = notify(alice)
    others = notify(bob)
    client.force_login(alice)
    response = client.get(reverse("annotation:notification_open", args=[own.pk]))
    assert response.status_code == 302 and response["Location"] == "/entries/"
    own.refresh_from_db()
    assert own.read_at is not None
    missing = client.get(reverse("annotation:notification_open", args=[others.pk]))
    assert missing.status_code == 404
    others.refresh_from_db()
    assert others.read_at is None


def test_notifications_need_sign_in(client):
    for name in ("annotation:notification_list", "annotation:notifications_read"):
        response = client.post(reverse(name)) if "read" in name else client.get(reverse(name))
        assert response.status_code == 302 and reverse("login") in response["Location"]


def test_the_profile_page_saves_the_e_mail_choice(client, alice):
    client.force_login(alice)
    page = client.get(reverse("profile"))
    assert 'name="email_notifications"' in page.text
    response = client.post(
        reverse("profile"),
        {"display_name": "", "show_on_leaderboard": "on", "email_notifications": "none"},
    )
    assert response.status_code == 302
    assert Profile.objects.get(user=alice).email_notifications == "none"
    bad = client.post(reverse("profile"), {"display_name": "", "email_notifications": "hourly"})
    assert bad.status_code == 200 and "Select a valid choice" in bad.text
    assert Profile.objects.get(user=alice).email_notifications == "none"
    # A form without the field (posted before it existed) leaves the choice as it was.
    client.post(reverse("profile"), {"display_name": "Al", "show_on_leaderboard": "on"})
    assert Profile.objects.get(user=alice).email_notifications == "none"


def test_a_notification_committed_after_the_last_digest_ran_is_in_the_next(alice):
    """A notification is stamped when its event's transaction runs; one still open when the
    digest ran commits after it with an earlier time, and must not be skipped for good."""
    alice.email = "alice@corp.example"
    alice.save(update_fields=["email"])
    choose(alice, "digest")
    last_digest = timezone.now()
    Profile.objects.filter(user=alice).update(digest_sent_at=last_digest)
    late = notify(alice, text="Decided while the digest ran.")
    Notification.objects.filter(pk=late.pk).update(
        created_at=last_digest - datetime.timedelta(seconds=1)
    )
    mail.outbox.clear()
    assert services.notifications_send_digests(now=last_digest + datetime.timedelta(days=1)) == 1
    (sent,) = mail.outbox
    assert "Decided while the digest ran." in sent.body
    late.refresh_from_db()
    assert late.emailed_at is not None
    # Mailed once: the next digest has nothing for her.
    assert services.notifications_send_digests(now=last_digest + datetime.timedelta(days=2)) == 0


def test_signing_in_with_mark_all_read_as_next_lands_on_the_list(client, alice, password):
    response = client.post(
        "/accounts/sign-in/",
        {"username": alice.username, "password": password, "next": "/notifications/read/"},
    )
    assert response["Location"] == reverse("annotation:notification_list")
