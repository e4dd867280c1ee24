"""Flock on several machines, on one: two web processes (gunicorn) and two Celery workers on one
PostgreSQL and one Redis, with the snapshot storage shared and a spool of each worker's own.
Snapshot builds, quality rescans, the nightly snapshot and the weekly contest job each run once
however many processes are asked at the same moment, and nothing is done twice.

Needs PostgreSQL and Redis (CI runs it against both); left out of CI's libfaketime runs, where
the servers' clocks would stand still."""

import datetime
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.utils import timezone

from annotation import services as annotation
from exports.models import Snapshot, SnapshotStatus
from leaderboard.models import Contest, ScoreEvent, ScoreKind, Standing
from quality import services as quality
from tests.factories import UserFactory, accepted_entry

pytestmark = [pytest.mark.scale_out, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WAIT = 120  # seconds any one thing may take on a busy 2-core machine


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _until(what: str, check, seconds: float = WAIT):
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.2)


class Cluster:
    """Two "machines": each a gunicorn and a worker, sharing the database, Redis and storage."""

    def __init__(self, tmp_path: Path):
        database = connection.settings_dict
        self.storage = tmp_path / "shared-storage"
        self.base = {
            **os.environ,
            "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}",
            "REDIS_URL": settings.REDIS_URL,
            "MEDIA_ROOT": str(self.storage),
            "SECRET_KEY": settings.SECRET_KEY,
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
        self.logs = tmp_path
        self.ports = [_free_port(), _free_port()]
        self.processes: list[subprocess.Popen] = []

    def _start(self, name: str, command: list[str], machine: int) -> None:
        env = {**self.base, "FLOCK_SNAPSHOT_SPOOL_DIR": str(self.logs / f"spool-{machine}")}
        log = (self.logs / f"{name}.log").open("w")
        self.processes.append(
            subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    def start(self) -> None:
        for machine, port in enumerate(self.ports, start=1):
            self._start(
                f"web-{machine}",
                [str(BIN / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1"],
                machine,
            )
            self._start(
                f"worker-{machine}",
                [
                    str(BIN / "celery"),
                    "-A",
                    "config",
                    "worker",
                    "-c",
                    "1",
                    "-n",
                    f"machine{machine}@%h",
                    "--without-mingle",
                    "--without-gossip",
                ],
                machine,
            )
        from config.celery import app

        for port in self.ports:
            _until(f"the web process on {port}", lambda port=port: self._answers(port))
        _until("both workers", lambda: len(app.control.ping(timeout=0.5)) >= 2)

    def _answers(self, port: int) -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}/api/v1/", timeout=10).status_code < 500
        except requests.RequestException:
            assert all(p.poll() is None for p in self.processes), self.tail()
            return False

    def url(self, machine: int, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[machine - 1]}{path}"

    def tail(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text()[-3000:]}" for log in sorted(self.logs.glob("*.log"))
        )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


@pytest.fixture
def cluster(postgresql, seeded, tmp_path):
    if settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.skip("needs a Redis broker and real workers: run with REDIS_URL=redis://… (CI does)")
    from config.celery import app

    app.control.purge()  # jobs other tests queued with no worker to run them
    running = Cluster(tmp_path)
    try:
        running.start()
        yield running
    finally:
        running.stop()


def _at_once(*calls):
    """Run the calls in threads released together; returns their results in order."""
    start = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(n, call):
        start.wait()
        results[n] = call()

    threads = [threading.Thread(target=run, args=(n, call)) for n, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _ready(pks) -> bool:
    return all(
        status == SnapshotStatus.READY
        for status in Snapshot.objects.filter(pk__in=pks).values_list("status", flat=True)
    ) and Snapshot.objects.filter(pk__in=pks).count() == len(pks)


def _failed(pks) -> str:
    failed = Snapshot.objects.filter(pk__in=pks, status=SnapshotStatus.FAILED).first()
    return failed.error if failed else ""


def test_two_web_processes_and_two_workers_do_each_job_once(cluster, agreed, carol):
    from config.celery import app
    from exports import tasks as export_tasks
    from leaderboard import tasks as contest_tasks
    from quality import tasks as quality_tasks

    for n in range(3):
        accepted_entry(agreed, instruction=f"Name {n + 2} rivers that cross Europe, please.")
    _, key = annotation.api_token_create(user=carol, name="scale-out")
    headers = {"Authorization": f"Token {key}"}

    def ask(machine: int, request_key: str):
        return requests.post(
            cluster.url(machine, "/api/v1/snapshots/"),
            json={"request_key": request_key},
            headers=headers,
            timeout=30,
        )

    # Snapshots: the same request through both web processes at once is one snapshot; another
    # request is another. Each is built once, one build at a time, into the shared storage.
    first, again, other = _at_once(
        lambda: ask(1, "monday"), lambda: ask(2, "monday"), lambda: ask(2, "tuesday")
    )
    assert {first.status_code, again.status_code} == {200, 202}, (first.text, again.text)
    assert first.json()["id"] == again.json()["id"]
    assert other.status_code == 202 and other.json()["id"] != first.json()["id"]
    pks = [first.json()["id"], other.json()["id"]]
    _until("both snapshots to be built", lambda: _ready(pks) or _failed(pks))
    assert not _failed(pks), _failed(pks)
    built = list(Snapshot.objects.filter(pk__in=pks).order_by("started_at"))
    assert [(s.attempts, s.record_count) for s in built] == [(1, 3), (1, 3)]
    assert built[0].finished_at <= built[1].started_at  # never two builds at once
    for snapshot in built:
        assert (cluster.storage / "snapshots" / snapshot.directory / "data.jsonl").exists()
    assert (
        requests.get(
            cluster.url(1, f"/api/v1/snapshots/{built[1].pk}/files/data.jsonl"),
            headers=headers,
            timeout=30,
        ).content
        == requests.get(
            cluster.url(2, f"/api/v1/snapshots/{built[1].pk}/files/data.jsonl"),
            headers=headers,
            timeout=30,
        ).content
    )

    # Rescans: while one runs (this process holds its lock, as a rescan on a third machine
    # would), the nightly rescans sent to both workers stand down, and a snapshot's build
    # waits for it before its own rescan.
    with quality.rescan_lock(wait=False):
        sent = [quality_tasks.quality_rescan.delay() for _ in range(2)]
        assert [r.get(timeout=WAIT) for r in sent] == [{"skipped": "another rescan is running"}] * 2
        waiting = ask(1, "wednesday").json()["id"]
        _until(
            "the build to reach its rescan",
            lambda: Snapshot.objects.filter(pk=waiting, stage="Grouping duplicates").exists(),
        )
        time.sleep(2)  # it stays there while the other rescan runs
        assert Snapshot.objects.get(pk=waiting).stage == "Grouping duplicates"
    _until("the waiting build", lambda: _ready([waiting]) or _failed([waiting]))
    assert not _failed([waiting])
    ran = quality_tasks.quality_rescan.delay().get(timeout=WAIT)
    assert "skipped" not in ran and ran["duplicates"]["entries"] >= 0

    # The nightly snapshot, sent by two beats by mistake: one snapshot for the night.
    accepted_entry(agreed, instruction="Which planet has the shortest day of all?")
    nights = [export_tasks.snapshot_nightly.delay() for _ in range(2)]
    results = [r.get(timeout=WAIT) for r in nights]
    assert {r["skipped"] for r in results} == {False}
    assert results[0]["snapshot"] == results[1]["snapshot"]
    assert Snapshot.objects.filter(request_key__startswith="system:nightly-").count() == 1
    _until("the nightly build", lambda: _ready([results[0]["snapshot"]]))

    # The weekly contest job on both workers at once: a past contest is finalised once, this
    # week's contest is made once.
    now = timezone.now()
    past = Contest.objects.create(
        name="Two weeks ago",
        starts_at=now - datetime.timedelta(days=15),
        ends_at=now - datetime.timedelta(days=8),
        grace_ends_at=now - datetime.timedelta(days=6),
    )
    writers = [UserFactory(username=f"writer{n}") for n in range(3)]
    ScoreEvent.objects.bulk_create(
        ScoreEvent(
            kind=ScoreKind.ENTRY_ACCEPTED,
            object_key=f"scale-out:{n}",
            user=writer,
            points=10 * (n + 1),
            contest=past,
            reason="seeded",
            created_at=past.starts_at + datetime.timedelta(days=1),
        )
        for n, writer in enumerate(writers)
    )
    ticks = [contest_tasks.contests_tick.delay() for _ in range(2)]
    done = [r.get(timeout=WAIT) for r in ticks]
    assert done[0]["week"] == done[1]["week"] is not None
    assert Contest.objects.filter(week__isnull=False).count() == 1
    past.refresh_from_db()
    assert past.finalized_at is not None
    assert Standing.objects.filter(contest=past).count() == 3
    assert [s.user_id for s in Standing.objects.filter(contest=past).order_by("rank")] == [
        w.pk for w in reversed(writers)
    ]
    assert len(app.control.ping(timeout=1)) == 2  # both workers are still there
