"""The export jobs through Celery: in-process without Redis, on a real worker with it (CI)."""

import json
import time

import pytest

from annotation import services as annotation
from annotation.models import EntryStatus, Flag
from exports import services, tasks
from exports.models import Snapshot, SnapshotStatus
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

    # The nightly job asks for one snapshot a day, however often beat runs it.
    nightly = tasks.snapshot_nightly.delay().get(timeout=60)
    assert tasks.snapshot_nightly.delay().get(timeout=60) == nightly
    assert _wait_until_done(nightly).status == SnapshotStatus.READY
    assert Snapshot.objects.get(pk=nightly).parent_id == built.pk
