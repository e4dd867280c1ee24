"""What a web process would otherwise do in its first requests, done when it starts.

Django imports the views on the first request that resolves a URL, compiles each template the
first time a page renders it, and Celery imports the tasks modules and its message machinery on
the first job a request queues (config.celery.registered_task). In a fresh gunicorn worker that
made the first submit take 260-660 ms instead of about 40, and the first page two seconds
(bench.load; docs/benchmarks.md, the fifth load round): the people who arrive right after a
deploy or a restart waited for it. config/wsgi.py calls warm_up() once a process has loaded the
application.
"""

import logging
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.template import engines
from django.urls import get_resolver

logger = logging.getLogger(__name__)


def warm_up() -> dict[str, int]:
    """Import the views, the tasks modules and what queueing a job needs, and compile Flock's
    own templates (the cached template loader keeps them); what was done, counted.

    Best effort: a part that fails is logged and left to the first request that needs it, as
    before, so that a broker setting Celery rejects or a broken template never stops a web
    process from starting. Connects to neither the database nor the broker, and closes any
    database connection all the same, so that a process forked after it shares none."""
    done = {"url patterns": 0, "tasks": 0, "templates": 0}
    try:
        done["url patterns"] = len(get_resolver().url_patterns)
    except Exception:
        logger.exception("Warming up: the URL patterns could not be loaded")
    try:
        done["tasks"] = _tasks()
    except Exception:
        logger.exception("Warming up: the tasks could not be loaded")
    for engine in engines.all():
        for name in _own_templates(engine.template_dirs):
            try:
                engine.get_template(name)
            except Exception:
                logger.exception("Warming up: template %s does not compile", name)
            else:
                done["templates"] += 1
    connections.close_all()
    return done


def _tasks() -> int:
    from config.celery import app

    # The tasks modules, as a worker finds them; not through import_default_modules, whose
    # signal runs Django's system checks (manage.py's business). registered_task then finds
    # every task already there.
    app.autodiscover_tasks(force=True)
    for module in app.loader.default_modules:
        app.loader.import_task_module(module)
    # What the first job queued would import: the message machinery, the result backend and
    # the broker's transport (none of them connects to anything yet).
    app.amqp, app.backend, app.events  # noqa: B018 (the properties import and build them)
    with app.connection_for_write() as connection:
        connection.transport  # noqa: B018
    return len(app.tasks)


def _own_templates(template_dirs) -> list[str]:
    """The templates under Flock's own folders (not those of installed packages)."""
    root = Path(settings.BASE_DIR).resolve()
    names = []
    for folder in map(Path, template_dirs):
        folder = folder.resolve()
        if not folder.is_relative_to(root) or ".venv" in folder.parts:
            continue
        names += [path.relative_to(folder).as_posix() for path in sorted(folder.rglob("*.html"))]
    return names
