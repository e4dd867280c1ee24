"""The export jobs through Celery: in-process without Redis, on a real worker with it (CI)."""

import datetime
import json
import time

import pytest

from annotation import services as annotation
from annotation.models import ContributorAgreement, EntryStatus, Flag
from exports import services, tasks
from exports.models import Snapshot, SnapshotStatus
from quality import tasks as quality_tasks
from tests.factories import EntryFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

ANSWER = "Red, yellow and blue are the three primary colours of traditional colour theory."


def _wait_until_done(snapshot_id: int, timeout: float = 90) -> Snapshot:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snapshot = Snapshot.objects.get(pk=snapshot_id)
        if not snapshot.is_active:
            return snapshot
        time.sleep(0.2)
    raise AssertionError(f"snapshot {snapshot_id} still {snapshot.status} after {timeout} s")


def test_a_snapshot_is_built_by_the_worker_after_its_rescans(worker, dana):
    author = UserFactory(username="author")
    annotation.agreement_accept(user=author)
    kept = EntryFactory(
        author=author, status=EntryStatus.ACCEPTED, instruction="Colours?", response=ANSWER
    )
    copy = EntryFactory(
        author=author, status=EntryStatus.ACCEPTED, instruction="Colours?", response=ANSWER
    )
    snapshot, created = services.snapshot_request(user=dana, request_key="worker-test")
    assert created and snapshot.job_id
    built = _wait_until_done(snapshot.pk)
    assert built.status == SnapshotStatus.READY, built.error
    assert built.record_count == 1  # the rescan flagged the copy before the rows were read
    assert Flag.objects.get(entry=copy).duplicate_of_id == kept.pk
    assert built.progress == 100 and built.attempts == 1
    with services.snapshot_storage().open(f"{built.directory}/data.jsonl") as handle:
        assert json.loads(handle.read())["instruction"] == "Colours?"

    # Nothing changed since: the nightly job skips the day, naming the snapshot that holds it all.
    assert tasks.snapshot_nightly.delay().get(timeout=60) == {
        "skipped": True,
        "unchanged_since": built.version,
    }
    # Something new: it asks for one snapshot a day, however often beat runs it.
    EntryFactory(author=author, status=EntryStatus.ACCEPTED, instruction="Shapes?")
    asked = tasks.snapshot_nightly.delay().get(timeout=60)
    assert asked["skipped"] is False
    nightly = _wait_until_done(asked["snapshot"])
    assert nightly.status == SnapshotStatus.READY
    assert nightly.parent_id == built.pk and nightly.record_count == 2
    again = tasks.snapshot_nightly.delay().get(timeout=60)
    assert again == {"skipped": True, "unchanged_since": nightly.version}
    assert Snapshot.objects.count() == 2


@pytest.mark.django_db  # in the test's transaction: what the nightly job queues never starts
def test_the_nightly_job_twice_before_its_build_runs_asks_for_one_snapshot(
    time_machine, settings, dana
):
    settings.TIME_ZONE = "UTC"  # the request key names the local date
    night = datetime.datetime(2026, 3, 2, 4, 0, tzinfo=datetime.UTC)
    time_machine.move_to(night)
    ContributorAgreement.objects.update(published_at=night - datetime.timedelta(days=30))
    author = UserFactory(username="author")
    annotation.agreement_accept(user=author)
    EntryFactory(author=author, status=EntryStatus.ACCEPTED, instruction="Colours?")
    first, _ = services.snapshot_request(user=dana, start=False)
    assert services.snapshot_build(snapshot_id=first.pk, rescan=False).is_ready
    EntryFactory(author=author, status=EntryStatus.ACCEPTED, instruction="Shapes?")  # a change

    asked = tasks.snapshot_nightly()
    again = tasks.snapshot_nightly()  # beat again, the build still waiting for a worker
    assert asked["skipped"] is False and again == asked
    nightly = Snapshot.objects.exclude(pk=first.pk).get()
    assert nightly.pk == asked["snapshot"] and nightly.status == SnapshotStatus.PENDING
    assert nightly.request_key == "system:nightly-2026-03-02"


def test_the_nightly_job_is_acknowledged_on_receipt_with_the_rescans_time_limit():
    """It runs the quality rescan: redelivered after the broker's visibility timeout, a second
    worker would run a second rescan at once (quality.tasks.quality_rescan's reasoning)."""
    assert tasks.snapshot_nightly.acks_late is False
    assert tasks.snapshot_nightly.time_limit == quality_tasks.quality_rescan.time_limit == 60 * 60
