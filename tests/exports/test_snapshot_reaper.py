"""A build whose worker died (audit finding 8): the reaper marks it failed once it stops beating,
its partial spool files go, a takeover records when the lost attempt ended, and a real worker
killed with SIGKILL mid-build leaves a snapshot that another worker finishes."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.celery import app, registered_task
from exports import services, tasks
from exports.models import Snapshot, SnapshotStatus
from exports.services.snapshots import build as building
from tests.factories import EntryFactory, UserFactory

pytestmark = pytest.mark.django_db


def running(key: str, *, attempts: int = 1) -> Snapshot:
    """A snapshot some worker is building, beating now."""
    snapshot, _ = services.snapshot_request(user=None, request_key=key, start=False)
    Snapshot.objects.filter(pk=snapshot.pk).update(
        status=SnapshotStatus.RUNNING,
        heartbeat_at=timezone.now(),
        started_at=timezone.now(),
        attempts=attempts,
        job_id=f"job-{key}",
    )
    snapshot.refresh_from_db()
    return snapshot


def spool_of(snapshot: Snapshot) -> Path:
    path = Path(settings.FLOCK_SNAPSHOT_SPOOL_DIR) / f"{snapshot.directory}-{snapshot.attempts}"
    path.mkdir(parents=True)
    (path / "data.jsonl").write_text('{"instruction": "half a file')
    return path


def test_the_broker_redelivers_a_lost_build_once_the_staleness_rule_says_it_is_lost():
    """Celery hands a job whose worker process died back to the queue, and Redis a job whose
    whole worker died after the visibility timeout, which is the staleness rule's number."""
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    assert (
        visibility == services.STALE_AFTER.total_seconds() == settings.FLOCK_SNAPSHOT_STALE_SECONDS
    )
    assert building.HEARTBEAT_EVERY * 5 == services.STALE_AFTER
    reaper = settings.CELERY_BEAT_SCHEDULE["snapshots-reap"]
    assert registered_task(reaper["task"]).name == reaper["task"] and reaper["schedule"] <= 60


def test_the_reaper_marks_failed_a_build_that_stopped_beating(time_machine):
    moment = timezone.now()
    time_machine.move_to(moment, tick=False)
    lost = running("lost")
    spool = spool_of(lost)

    time_machine.move_to(moment + services.STALE_AFTER - timedelta(seconds=1), tick=False)
    assert services.snapshots_reap() == []  # still within the rule: it may be working
    assert Snapshot.objects.get(pk=lost.pk).status == SnapshotStatus.RUNNING

    later = moment + services.STALE_AFTER + timedelta(seconds=1)
    time_machine.move_to(later, tick=False)
    assert [s.pk for s in services.snapshots_reap()] == [lost.pk]
    lost.refresh_from_db()
    assert lost.status == SnapshotStatus.FAILED and "stopped beating" in lost.error
    assert lost.finished_at == later and lost.stage == ""
    assert not spool.exists()
    assert services.snapshots_reap() == []  # once

    # The building place is free: the next snapshot builds without anyone asking for the lost one.
    nxt, _ = services.snapshot_request(user=None, request_key="next", start=False)
    assert services.snapshot_build(snapshot_id=nxt.pk, rescan=False).status == SnapshotStatus.READY


def test_the_reaper_task_runs_the_reaper(time_machine):
    moment = timezone.now()
    time_machine.move_to(moment, tick=False)
    lost = running("lost-by-task")
    time_machine.move_to(moment + services.STALE_AFTER * 2, tick=False)
    assert tasks.snapshots_reap.apply().get() == [lost.version]


def test_a_takeover_records_when_the_lost_build_ended(time_machine):
    moment = timezone.now()
    time_machine.move_to(moment, tick=False)
    lost = running("lost")
    waiting, _ = services.snapshot_request(user=None, request_key="waiting", start=False)
    later = moment + services.STALE_AFTER + timedelta(minutes=1)
    time_machine.move_to(later, tick=False)
    assert services.snapshot_build(snapshot_id=waiting.pk, rescan=False).is_ready
    lost.refresh_from_db()
    assert lost.status == SnapshotStatus.FAILED and lost.finished_at == later


def test_a_build_removes_the_spool_files_of_dead_builds_and_keeps_others(time_machine):
    moment = timezone.now()
    time_machine.move_to(moment, tick=False)
    dead = running("dead", attempts=2)
    dead_spool = spool_of(dead)
    Snapshot.objects.filter(pk=dead.pk).update(status=SnapshotStatus.FAILED)
    unrelated = Path(settings.FLOCK_SNAPSHOT_SPOOL_DIR) / "notes"
    unrelated.mkdir()
    snapshot, _ = services.snapshot_request(user=None, request_key="new", start=False)
    assert services.snapshot_build(snapshot_id=snapshot.pk, rescan=False).is_ready
    assert not dead_spool.exists() and unrelated.exists()
    assert [p.name for p in Path(settings.FLOCK_SNAPSHOT_SPOOL_DIR).iterdir()] == ["notes"]


@pytest.mark.django_db(transaction=True)
def test_a_build_beats_while_a_stage_reports_nothing(seeded, monkeypatch):
    """The heartbeat is written on a thread of its own, so a long silent stage (a big rescan)
    never looks like a dead worker."""
    monkeypatch.setattr(building, "HEARTBEAT_EVERY", timedelta(seconds=0.05))
    beats = []

    def slow_stage(progress: int, stage: str) -> None:
        if not beats:  # the rows stage begins: say nothing for a while
            reported = Snapshot.objects.get(pk=snapshot.pk).heartbeat_at
            time.sleep(0.5)
            beats.append((reported, Snapshot.objects.get(pk=snapshot.pk).heartbeat_at))

    snapshot, _ = services.snapshot_request(user=None, request_key="beating", start=False)
    built = services.snapshot_build(snapshot_id=snapshot.pk, rescan=False, on_progress=slow_stage)
    assert built.is_ready, built.error
    (reported, beaten), *_ = beats
    assert beaten > reported


WORKER_THAT_STALLS = """
import os, time
import django

django.setup()
from exports.services.snapshots import build

real_stages = build._stages


def stalled(snapshot, options, spool, report):
    (spool / "data.jsonl").write_text('{"instruction": "half a file')
    report(61, "Stalled by the test")
    time.sleep(300)
    return real_stages(snapshot, options, spool, report)


build._stages = stalled
from config.celery import app

app.worker_main(
    ["worker", "--pool=solo", "--without-mingle", "--without-gossip", "--loglevel=WARNING"]
)
"""


def _wait(predicate, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what} after {timeout} s")


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_build_is_reaped_and_its_job_finished_by_another(
    postgresql, seeded, time_machine, tmp_path
):
    if settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.skip("needs a Redis broker and real workers: run with REDIS_URL=redis://… (CI does)")
    from tests.conftest import celery_worker

    author = UserFactory(username="author")
    EntryFactory(author=author, status="accepted")
    app.control.purge()  # jobs other tests queued with no worker to run them
    database = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "FLOCK_SNAPSHOT_SPOOL_DIR": str(settings.FLOCK_SNAPSHOT_SPOOL_DIR),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER_THAT_STALLS],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        snapshot, _ = services.snapshot_request(user=None, request_key="killed")
        stalled = _wait(
            lambda: Snapshot.objects.filter(pk=snapshot.pk, stage="Stalled by the test").first(),
            timeout=90,
            what="the worker to start building",
        )
        spool = Path(settings.FLOCK_SNAPSHOT_SPOOL_DIR) / f"{stalled.directory}-1"
        assert (spool / "data.jsonl").exists()
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)
        log.close()
    assert Snapshot.objects.get(pk=snapshot.pk).status == SnapshotStatus.RUNNING  # as it died

    # The staleness rule's time passes: the reaper marks it failed and removes its spool files.
    time_machine.move_to(timezone.now() + services.STALE_AFTER + timedelta(seconds=5))
    assert [s.pk for s in services.snapshots_reap()] == [snapshot.pk]
    reaped = Snapshot.objects.get(pk=snapshot.pk)
    assert reaped.status == SnapshotStatus.FAILED and reaped.finished_at is not None
    assert not spool.exists()

    # Its job was never acknowledged: past the visibility timeout (the same number), Redis hands
    # it to the next worker, which builds the snapshot with nobody asking again.
    with celery_worker(purge=False):
        done = _wait(
            lambda: Snapshot.objects.filter(pk=snapshot.pk, status=SnapshotStatus.READY).first(),
            timeout=90,
            what="another worker to finish the snapshot",
        )
    assert done.attempts == 2 and done.job_id == snapshot.job_id and done.finished_at
    assert not any(Path(settings.FLOCK_SNAPSHOT_SPOOL_DIR).iterdir())
