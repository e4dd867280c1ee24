"""With the Celery broker down (a real Redis URL on a closed port, tasks not run in-process), what a
request committed stands: it answers at once with success, the job that could not be queued is
logged and left to the next rescan, and a snapshot says it could not be queued (audit finding 5).
"""

import logging
import socket
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from annotation import services as annotation
from annotation.models import Entry, EntryStatus, Flag
from config.celery import app, registered_task
from exports.models import Snapshot, SnapshotStatus
from quality import services as quality
from tests.factories import EntryFactory, UserFactory, category

pytestmark = pytest.mark.django_db(transaction=True)

ENTRY = {
    "category": "open_qa",
    "instruction": "Who should I write to about my payslip?",
    "response": "Write to payroll@corp.example; they answer within a day.",  # personal data
}


def _forget_connections() -> None:
    """Make the Celery app connect afresh with its configuration as it is now."""
    app._pool = None
    app.__dict__.get("amqp") and setattr(app.amqp, "_producer_pool", None)
    app._backend_cache = None
    app._local.__dict__.pop("backend", None)


@pytest.fixture
def broker_down(settings):
    """REDIS_URL (broker, result store, leaderboard cache) on a port nothing listens on, and
    tasks sent to it rather than run in-process: the settings of config/settings.py otherwise."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the probe is
    url = f"redis://127.0.0.1:{port}/14"
    before = {key: app.conf[key] for key in ("broker_url", "result_backend", "task_always_eager")}
    settings.REDIS_URL = url
    app.conf.update(broker_url=url, result_backend=url, task_always_eager=False)
    _forget_connections()
    # Discover the tasks modules now, as a web process does on its first job: Celery's Django
    # fix-up configures logging afresh then, which would drop the log capture of the test.
    registered_task("quality.tasks.entry_check")
    yield url
    app.conf.update(before)
    _forget_connections()


def test_a_broker_that_is_down_costs_a_fraction_of_a_second_by_configuration(broker_down):
    """Celery's defaults retry the result store 20 times a second apart (the audit's 19 s);
    Flock's publish and result-store policies give up within a fraction of a second, and a
    connection attempt to a broker that does not answer within one."""
    publish = app.conf.task_publish_retry_policy
    assert publish["max_retries"] * max(publish["interval_max"], publish["interval_start"]) <= 0.5
    backend = app.backend.retry_policy  # the Redis result store built from these settings
    assert backend["max_retries"] * max(backend["interval_max"], backend["interval_start"]) <= 0.5
    assert app.conf.broker_transport_options["socket_connect_timeout"] <= 1
    assert app.conf.broker_connection_timeout <= 1
    assert app.conf.redis_socket_connect_timeout <= 1


def test_submit_and_the_deciding_review_succeed_and_the_checks_are_left_to_the_rescan(
    broker_down, seeded, api_client, caplog, time_machine
):
    alice, bob, dave = (UserFactory(username=name) for name in ("alice", "bob", "dave"))
    annotation.agreement_accept(user=alice)
    moment = timezone.now()
    time_machine.move_to(moment, tick=False)
    quality.quality_rescan()  # last night's rescan: the next looks at what changed since
    time_machine.move_to(moment + timedelta(hours=1), tick=False)

    api_client.force_authenticate(alice)
    entry = api_client.post("/api/v1/entries/", ENTRY, format="json").json()
    with caplog.at_level(logging.ERROR, logger="config.celery"):
        submitted = api_client.post(f"/api/v1/entries/{entry['id']}/submit/")
    assert submitted.status_code == 200, submitted.content
    assert submitted.json()["status"] == "submitted"
    assert (
        f"Could not queue quality.tasks.entry_check (the check of entry #{entry['id']}; the "
        "next rescan runs it): OperationalError: Error 111 connecting to 127.0.0.1"
    ) in caplog.text
    assert not Flag.objects.filter(entry_id=entry["id"]).exists()  # its check never ran

    caplog.clear()
    for reviewer in (bob, dave):  # dave's approval decides
        api_client.force_authenticate(reviewer)
        annotation.review_next(reviewer=reviewer)
        answer = api_client.post(
            f"/api/v1/entries/{entry['id']}/reviews/",
            {"verdict": "approve", "rating": 5},
            format="json",
        )
        assert answer.status_code == 201, answer.content
    assert Entry.objects.get(pk=entry["id"]).status == EntryStatus.ACCEPTED
    assert "Could not queue quality.tasks.entry_check" in caplog.text

    # The nightly rescan, which looks at what changed since the last one, runs the check.
    time_machine.move_to(moment + timedelta(days=1), tick=False)
    report = quality.quality_rescan()
    assert not report.licensing.full and report.licensing.entries == 1
    assert Flag.objects.get(entry_id=entry["id"]).kind == "personal_data"


def test_a_check_not_queued_is_rescanned_even_behind_a_rescan_that_started_meanwhile(
    broker_down, seeded, time_machine
):
    """A rescan can start after the submit wrote the entry and before it committed, and so not
    see it; the entry whose check could not be queued is marked changed after the commit."""
    alice = UserFactory(username="alice")
    annotation.agreement_accept(user=alice)
    moment = timezone.now()
    time_machine.move_to(moment, tick=False)
    quality.quality_rescan()
    entry = EntryFactory(author=alice, **{**ENTRY, "category": category("open_qa")})
    time_machine.move_to(moment + timedelta(hours=1), tick=False)
    with transaction.atomic():
        annotation.entry_submit(entry=entry, actor=alice)
        # Another process's rescan starts now and finishes before this commits: it did not
        # see the entry, and the next one looks only at what changed after it started.
        rules = {name: quality.scan_mark(name=name).rules for name in ("duplicates", "licensing")}
        for name, rule in rules.items():
            quality.scan_mark_save(
                name=name, rules=rule, started=moment + timedelta(hours=2), entries=0, full=False
            )
        time_machine.move_to(moment + timedelta(hours=3), tick=False)
    time_machine.move_to(moment + timedelta(days=1), tick=False)
    quality.quality_rescan()
    assert Flag.objects.get(entry=entry).kind == "personal_data"


def test_a_snapshot_asked_for_says_its_build_could_not_be_queued(broker_down, seeded, dana, client):
    client.force_login(dana)
    page = client.post("/exports/", {"request_key": "broker-down"}, follow=True)
    assert page.status_code == 200
    snapshot = Snapshot.objects.get()
    assert snapshot.status == SnapshotStatus.FAILED and snapshot.finished_at is not None
    assert "could not be queued" in snapshot.error
    assert "could not be queued" in page.content.decode() and "Build again" in page.content.decode()

    api = APIClient()
    api.force_authenticate(dana)
    answer = api.post("/api/v1/snapshots/", {"request_key": "api-broker-down"}, format="json")
    assert answer.status_code == 202
    assert answer.json()["status"] == "failed" and "could not be queued" in answer.json()["error"]
