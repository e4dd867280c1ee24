"""What the console shows an operator: a refused request is one line; a crash keeps its traceback."""

import io
import logging

import pytest


@pytest.fixture
def console(settings):
    """The text the project's console handler writes while the test runs.

    Logging is configured afresh from the settings, as a web process starts: a Celery worker that
    an earlier test started replaces the root logger's handlers with its own.
    """
    from django.utils.log import configure_logging

    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
    handler = logging.getHandlerByName("console")
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


@pytest.mark.django_db
def test_a_refused_page_is_one_line_without_a_traceback(client, bob, console, caplog):
    client.force_login(bob)
    assert client.get("/exports/").status_code == 403
    assert client.get("/moderation/").status_code == 403
    assert client.get("/no-such-page/").status_code == 404
    text = console.getvalue()
    assert "Forbidden (Permission denied): /exports/" in text
    assert "Not Found: /no-such-page/" in text
    assert "Traceback" not in text
    # Each refusal once: Django's own console handler no longer prints a second copy.
    assert text.count("/exports/") == 1
    # Only the console leaves the traceback out: other handlers still get the whole record.
    forbidden = next(r for r in caplog.records if r.getMessage().endswith(": /exports/"))
    assert forbidden.exc_info is not None


def test_a_server_error_keeps_its_traceback(console):
    try:
        raise RuntimeError("the database went away")
    except RuntimeError:
        logging.getLogger("django.request").error(
            "Internal Server Error: /write/", exc_info=True, extra={"status_code": 500}
        )
    assert "Traceback (most recent call last)" in console.getvalue()
    assert "RuntimeError: the database went away" in console.getvalue()


def test_the_demo_set_up_prints_nothing_at_verbosity_0(tmp_path):
    """What `make run` does before serving (demo_prepare), on a fresh SQLite database with tasks
    in-process as on a newcomer's machine: no broker warning ("No hostname was supplied"), no
    line per task, no traceback."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "MEDIA_ROOT": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "manage.py", "demo_prepare", "--verbosity", "0"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("", "")
    assert (tmp_path / "snapshots" / "v0001" / "data.jsonl").exists()
