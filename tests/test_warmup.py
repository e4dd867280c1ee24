"""A web process does at start what its first requests would otherwise wait for
(config/warmup.py): the views, the tasks modules and the templates are ready once gunicorn has
loaded config.wsgi, and no database connection is left open for a forked worker to share."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, sys
import config.wsgi
from django.db import connections
from django.template import engines
from config.celery import app
loader = engines["django"].engine.template_loaders[0]
print(json.dumps({
    "views": "annotation.views.writing" in sys.modules and "exports.views" in sys.modules,
    "tasks": sorted(name for name in app.tasks if not name.startswith("celery.")),
    "transport": "kombu.transport.redis" in sys.modules,
    "templates": {name: str(getattr(template, "origin", "")) for name, template in loader.get_template_cache.items()},
    "connections": [alias for alias in connections if connections[alias].connection is not None],
}))
"""


def test_loading_the_wsgi_application_warms_the_process(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        # Celery's broker names the transport to import; nothing connects to it.
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    found = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert found.returncode == 0, found.stderr
    warmed = json.loads(found.stdout.splitlines()[-1])
    assert warmed["views"]
    assert {"exports.tasks.snapshot_build", "quality.tasks.entry_check"} <= set(warmed["tasks"])
    assert warmed["transport"]
    templates = warmed["templates"]
    assert {"base.html", "annotation/write.html", "annotation/review_entry.html"} <= set(templates)
    own = str(ROOT / "templates")
    assert all(origin.startswith(own) for origin in templates.values())  # no package's
    assert warmed["connections"] == []
    assert not (tmp_path / "unused.sqlite3").exists()  # nothing touched the database


def test_a_part_that_fails_is_logged_and_the_rest_still_warms(monkeypatch, caplog):
    """A broker setting Celery rejects must not stop a web process from starting: the first job
    queued meets the error, as before (config.celery.enqueue_on_commit logs it)."""
    from config.celery import app
    from config.warmup import warm_up

    def refused(*args, **kwargs):
        raise ValueError("No such transport: nosuch")

    monkeypatch.setattr(app, "autodiscover_tasks", refused)
    with caplog.at_level("ERROR", logger="config.warmup"):
        done = warm_up()
    assert done["tasks"] == 0 and done["templates"] > 50 and done["url patterns"] > 0
    assert "the tasks could not be loaded" in caplog.text and "No such transport" in caplog.text
