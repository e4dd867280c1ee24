"""`python -m bench.load`: the drive-day load run (see __init__.py and docs/benchmarks.md).

1. A throwaway PostgreSQL database (DATABASE_URL names the server) and a Redis database of its
   own (REDIS_URL's server, database FLOCK_LOAD_REDIS_DB, emptied first), seeded with the
   accounts the virtual users take (each already signed in: a session, as company sign-in
   leaves one), entries waiting for review, a contest and a ready snapshot.
2. Flock production style on 127.0.0.1: gunicorn (DEBUG off, collected static files) and a
   Celery worker, on that database and Redis.
3. locust, headless, in a process of its own (locustfile.py), ramping up in steps.
4. Each step's figures per endpoint, the knee, and the checks that nothing was lost
   (checks.py). Exits 1 when a check fails, or with --smoke on any error.
"""

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

from bench.load.isolated import MEDIA  # first: the run's own media folder and Redis database

# isort: split
from bench.common import (  # sets Django up: import it next
    throwaway_database,
    throwaway_database_url,
)

# isort: split
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from annotation.models import AgreementAcceptance, Category, ContributorAgreement, Profile, Team
from bench.export import make_records
from bench.load import checks, cpu
from bench.load.cpu import CpuSampler

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
ROLES = {"writers": 12, "reviewers": 5, "viewers": 3}  # the locustfile's weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", default="100,250,500,1000,1500,2000")
    parser.add_argument("--step-seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument(
        "--conn-max-age", type=int, help="DATABASE_CONN_MAX_AGE (default: the settings')"
    )
    parser.add_argument(
        "--mix",
        choices=["person", "fast"],
        default="person",
        help="people at a person's pace, or the first rounds' quick writers (locustfile.py)",
    )
    parser.add_argument("--knee-ms", type=float, default=500)
    parser.add_argument("--max-requests", type=int, default=1_000_000)
    parser.add_argument("--waiting", type=int, default=2_000, help="entries under review at start")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="CI's short run: 10 then 20 users, 10 s each, quick people; fails on any error",
    )
    args = parser.parse_args()
    if args.conn_max_age is None:
        args.conn_max_age = settings.DATABASES["default"]["CONN_MAX_AGE"]
    if args.smoke:  # every step runs: only errors fail it
        args.steps, args.step_seconds, args.waiting, args.knee_ms = "10,20", 10, 100, 60_000
    steps = [int(users) for users in args.steps.split(",")]
    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        raise SystemExit("bench.load needs DATABASE_URL (PostgreSQL) and REDIS_URL.")

    redis_url = _redis_url()
    with tempfile.TemporaryDirectory(prefix="flock-load-") as tmp, throwaway_database():
        workdir = Path(tmp)
        speed = cpu.host_speed()
        started = time.perf_counter()
        plan = seed(max(steps) + 10, args.waiting)
        (workdir / "plan.json").write_text(json.dumps(plan))
        print(
            f"database: {connection.settings_dict['NAME']}; {os.cpu_count()} cores; seeded "
            f"{sum(len(a) for a in plan['accounts'].values()):,} signed-in accounts, "
            f"{args.waiting:,} entries waiting for review, in {time.perf_counter() - started:.1f} s"
        )
        env = _server_env(workdir, redis_url, args)
        port = _free_port()
        servers = start_servers(env, port, args, workdir)
        try:
            # The seed's submissions queued their quality checks: the worker does them first,
            # so that the run measures a drive's steady state, not the seed's backlog.
            waited = time.perf_counter()
            _drain_queue(redis_url, seconds=900)
            print(f"the seed's queued jobs done in {time.perf_counter() - waited:.1f} s")
            print(
                f"servers: gunicorn, {args.workers} workers x {args.threads} threads "
                f"(CONN_MAX_AGE {args.conn_max_age}), a Celery worker; locust steps {steps} "
                f"users, {args.step_seconds:.0f} s each, at the {args.mix} mix's pace"
            )
            sampler = run_locust(env, port, workdir, steps, args, servers)
            _drain_queue(redis_url)
        finally:
            stop_servers(servers)
        steps_run = [json.loads(line) for line in (workdir / "steps.jsonl").open()]
        for step in steps_run:
            step["cpu"] = sampler.cores_busy(*step["window"])
        print(
            f"\nhost speed (a fixed piece of Python, lower is faster): {speed:.0f} ms before the "
            f"run, {cpu.host_speed():.0f} ms after"
        )
        print_steps(steps_run)
        knee = find_knee(steps_run, args.knee_ms)
        if args.smoke:
            errors = sum(e["count"] for step in steps_run for e in step["errors"])
            total = sum(r["requests"] for step in steps_run for r in step["endpoints"])
            print(f"\nsmoke: {total:,} requests measured, {errors:,} errors")
        else:
            print(knee["text"])
        outcome = json.loads((workdir / "outcome.json").read_text())
        problems = checks.run(outcome)
        for line in problems["lines"]:
            print(line)
        failed = problems["failed"] or (args.smoke and knee["errors"])
        if failed:
            raise SystemExit(1)


def seed(users: int, waiting: int) -> dict:
    """Accounts for every role (signed in, agreement accepted, in teams), the entries waiting
    for review, and a ready snapshot; the plan the locustfile reads."""
    from annotation import services as annotation
    from exports.services import snapshot_build, snapshot_request
    from leaderboard.services import contest_ensure_week

    User = get_user_model()
    now = timezone.now()
    teams = Team.objects.bulk_create([Team(name=f"Team {n}") for n in range(40)])
    agreement = ContributorAgreement.objects.order_by("-published_at").first()
    total = sum(ROLES.values())
    counts = {role: users * weight // total + 20 for role, weight in ROLES.items()}
    counts["data_scientists"] = 2
    counts["authors"] = 200  # who wrote what waits for review
    people = User.objects.bulk_create(
        [
            User(username=f"{role}{n}", email=f"{role}{n}@example.com", password="!")
            for role, count in counts.items()
            for n in range(count)
        ]
    )
    Profile.objects.bulk_create(
        [
            Profile(user=person, display_name=f"Person {person.pk}", team=teams[n % len(teams)])
            for n, person in enumerate(people)
        ]
    )
    AgreementAcceptance.objects.bulk_create(
        [AgreementAcceptance(user=person, agreement=agreement) for person in people]
    )
    group, _ = Group.objects.get_or_create(name=settings.FLOCK_DATA_SCIENTISTS_GROUP)
    group.user_set.add(*[p for p in people if p.username.startswith("data_scientists")])
    contest_ensure_week(moment=now)  # the week's contest, as scoring makes it
    # Sessions as a sign-in leaves them (the same keys django.contrib.auth.login writes).
    sessions, accounts = [], {role: [] for role in counts if role != "authors"}
    for person in people:
        role = person.username.rstrip("0123456789")
        if role == "authors":
            continue
        store = SessionStore()
        key = store._get_new_session_key()
        data = {
            "_auth_user_id": str(person.pk),
            "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
            "_auth_user_hash": person.get_session_auth_hash(),
        }
        sessions.append(
            Session(
                session_key=key,
                session_data=store.encode(data),
                expire_date=now + timedelta(days=1),
            )
        )
        accounts[role].append(
            {"username": person.username, "session": key, "csrf": secrets.token_hex(16)}
        )
    Session.objects.bulk_create(sessions)
    records = make_records(waiting + 500, seed=16_001)
    authors = [p for p in people if p.username.startswith("authors")]
    categories = {category.slug: category for category in Category.objects.all()}
    for n, (slug, instruction, context, response, url) in enumerate(records[:waiting]):
        entry = annotation.entry_save_draft(
            author=authors[n % len(authors)],
            category=categories[slug],
            values={
                "instruction": instruction,
                "context": context,
                "response": response,
                "source_url": url,
            },
        )
        annotation.entry_submit(entry=entry, actor=entry.author)
    snapshot, _ = snapshot_request(user=None, options={}, start=False)
    snapshot_build(snapshot_id=snapshot.pk, rescan=False)
    return {"accounts": accounts, "records": [list(r) for r in records[waiting:]]}


def _redis_url() -> str:
    """The run's Redis database (set above), emptied."""
    import redis

    url = os.environ["REDIS_URL"]
    redis.Redis.from_url(url).flushdb()
    return url


def _server_env(workdir: Path, redis_url: str, args) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": throwaway_database_url(),
        "REDIS_URL": redis_url,
        "DEBUG": "false",
        # The sessions the seed wrote are signed with this process's key: the servers share it.
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",  # TLS ends at the proxy in front, as in production
        "DATABASE_CONN_MAX_AGE": str(args.conn_max_age),
        "LOG_LEVEL": "WARNING",
        "FLOCK_LOAD_PLAN": str(workdir / "plan.json"),
        "FLOCK_LOAD_OUT": str(workdir),
    }
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_servers(env: dict, port: int, args, workdir: Path) -> list[subprocess.Popen]:
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    logs = workdir / "servers.log"
    log = logs.open("ab")
    gunicorn = [
        str(VENV_BIN / "gunicorn"),
        "config.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(args.workers),
        "--threads",
        str(args.threads),
        "--worker-class",
        "gthread" if args.threads > 1 else "sync",
        "--backlog",
        "4096",
        "--log-level",
        "warning",
    ]
    worker = [str(VENV_BIN / "celery"), "-A", "config", "worker", "--loglevel=WARNING", "-c", "1"]
    servers = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True)
        for command in (gunicorn, worker)
    ]
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return servers
        except OSError:
            pass
        if time.monotonic() > deadline or any(s.poll() is not None for s in servers):
            stop_servers(servers)
            raise SystemExit(f"the servers did not start:\n{logs.read_text()[-3000:]}")
        time.sleep(0.5)


def stop_servers(servers: list[subprocess.Popen]) -> None:
    for server in servers:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
    for server in servers:
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def run_locust(
    env: dict, port: int, workdir: Path, steps: list[int], args, servers: list
) -> CpuSampler:
    """Run locust to its end; the CPU sampler that watched the machine meanwhile."""
    locust_env = {
        **env,
        "FLOCK_LOAD_STEPS": ",".join(map(str, steps)),
        "FLOCK_LOAD_STEP_SECONDS": str(args.step_seconds),
        "FLOCK_LOAD_KNEE_MS": str(args.knee_ms),
        "FLOCK_LOAD_MAX_REQUESTS": str(args.max_requests),
        "FLOCK_LOAD_MIX": args.mix,
        # The smoke run's people are quicker: an entry in a few seconds at either pace.
        "FLOCK_LOAD_PACE": ("0.2" if args.mix == "fast" else "0.05") if args.smoke else "1",
    }
    command = [
        str(VENV_BIN / "locust"),
        "-f",
        str(Path(__file__).with_name("locustfile.py")),
        "--headless",
        "--host",
        f"http://127.0.0.1:{port}",
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
    ]
    bound = len(steps) * args.step_seconds + 120
    with (workdir / "locust.log").open("wb") as log:  # its own summary: shown when it fails
        locust = subprocess.Popen(command, cwd=ROOT, env=locust_env, stdout=log, stderr=log)
        processes = cpu.processes()
        sampler = CpuSampler(
            {
                "gunicorn": [servers[0].pid],
                "postgres": cpu.roots_by_name(processes, "postgres"),
                "celery worker": [servers[1].pid],
                "redis": cpu.roots_by_name(processes, "redis-server"),
                "locust": [locust.pid],
            }
        )
        sampler.start()
        try:
            code = locust.wait(timeout=bound)
        finally:
            sampler.stop()
            if locust.poll() is None:
                locust.kill()
    if code:
        print((workdir / "locust.log").read_text()[-5000:])
        raise SystemExit(f"locust failed (exit {code})")
    return sampler


def _drain_queue(redis_url: str, seconds: float = 120) -> None:
    """Wait for the worker to finish what was queued (the boards follow the decisions)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + seconds
    while client.llen("celery") and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(2)  # the task the worker took last


def print_steps(steps: list[dict]) -> None:
    for step in steps:
        requests = sum(row["requests"] for row in step["endpoints"])
        print(
            f"\n{step['users']:,} users ({step['running']:,} running), measured "
            f"{step['seconds']:.0f} s: {requests / step['seconds']:,.1f} requests/s"
        )
        print(f"  {'endpoint':<48} {'req/s':>7} {'p50':>6} {'p95':>6} {'p99':>6} {'errors':>6}")
        for row in step["endpoints"]:
            print(
                f"  {row['name']:<48} {row['rps']:>7.1f} {row['p50']:>6.0f} {row['p95']:>6.0f} "
                f"{row['p99']:>6.0f} {row['failures']:>6}"
            )
        if step.get("cpu"):
            busy = ", ".join(f"{group} {cores:.2f}" for group, cores in step["cpu"].items())
            print(f"  CPU (cores busy, of {os.cpu_count()}): {busy}")
        for error in step["errors"]:
            print(f"  error: {error['count']}x {error['method']} {error['name']}: {error['error']}")


def find_knee(steps: list[dict], knee_ms: float) -> dict:
    """The first step where any endpoint's p99 passed knee_ms or any error appeared."""
    for step in steps:
        slow = [row for row in step["endpoints"] if row["p99"] > knee_ms]
        if slow or step["errors"]:
            rate = sum(row["requests"] for row in step["endpoints"]) / step["seconds"]
            why = ", ".join(f"{row['name']} p99 {row['p99']:.0f} ms" for row in slow)
            if step["errors"]:
                why = ", ".join(filter(None, [why, f"{len(step['errors'])} kinds of error"]))
            return {
                "errors": bool(step["errors"]),
                "text": f"\nknee: {step['users']:,} users ({rate:,.1f} requests/s): {why}",
            }
    last = steps[-1] if steps else {"users": 0, "endpoints": [], "seconds": 1}
    worst = max((row["p99"] for row in last["endpoints"]), default=0)
    return {
        "errors": False,
        "text": (
            f"\nknee: not reached up to {last['users']:,} users (worst p99 there "
            f"{worst:.0f} ms, no errors)"
        ),
    }


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(MEDIA, ignore_errors=True)
