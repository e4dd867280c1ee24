"""`make run`'s server, end to end: a fresh database is prepared, Django's runserver serves it, and
the last thing printed is the address and the demo logins. A contributor refused a page costs
the console one line, never a traceback."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_demo_prepares_serves_and_ends_with_the_address_and_logins(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "MEDIA_ROOT": str(tmp_path)}
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve_demo", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(server.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 90
        while not any(line.startswith("  dana") for line in lines):
            assert server.poll() is None and time.monotonic() < deadline, "".join(lines)
            time.sleep(0.1)
        banner = "".join(lines)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/sign-in/") as page:
            assert page.status == 200
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/no-such-page/")
        except urllib.error.HTTPError as refused:
            assert refused.code == 404
        time.sleep(0.5)
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=30)
        reader.join(timeout=5)

    printed = [line.rstrip() for line in banner.splitlines() if line.strip()]
    assert printed[0] == "Preparing the database and the demo data…"
    assert any("Starting" in line and f":{port}/" in line for line in printed)  # runserver's own
    assert f"Flock is running at http://127.0.0.1:{port}/" in printed[-7]
    assert [line.split()[0] for line in printed[-4:]] == ["alice", "bob", "carol", "dana"]
    everything = "".join(lines)
    assert "Traceback" not in everything and "No hostname was supplied" not in everything
    assert "WARNING: This is a development server" not in everything
