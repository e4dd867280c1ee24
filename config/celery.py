import logging
import os
from collections.abc import Callable

from celery import Celery
from django.db import transaction

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("flock")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)


def registered_task(name: str):
    """The task registered as `name` ("exports.tasks.snapshot_build").

    Services queue their jobs through this, by name, so that no services module imports the
    tasks module that imports it (tasks call services; the dependency points one way). A web
    process finds the tasks modules when it starts (config/warmup.py), as a worker does; any
    other process (a management command, a test) on its first use here.
    """
    if name not in app.tasks:
        app.loader.import_default_modules()
    return app.tasks[name]


def enqueue_on_commit(
    name: str,
    *args,
    what: str,
    on_failure: Callable[[Exception], None] | None = None,
    **options,
) -> None:
    """Queue the task registered as `name` once the current transaction commits; the one place
    a request path queues a job.

    What the request did is committed by then, so a broker (or result store) that cannot be
    reached must not turn it into an error page: the failure is logged as one line naming
    `what` was not queued, `on_failure(exc)` records it (the entry is marked for the next
    rescan, the snapshot says it could not be queued), and the caller answers with success.
    The broker's retry settings (CELERY_TASK_PUBLISH_RETRY_POLICY and the transport options
    in config/settings.py) make that cost well under a second. In-process (eager) tasks are
    not queued at all, so their own errors still propagate as before.
    """

    # Nobody waits for the result of a job a request queued (pages poll the rows the job
    # writes), so publishing touches the broker only, not the result store as well.
    options = {"ignore_result": True, **options}

    def send() -> None:
        task = registered_task(name)
        if app.conf.task_always_eager:
            task.apply_async(args, **options)
            return
        try:
            task.apply_async(args, **options)
        except Exception as exc:
            logger.error("Could not queue %s (%s): %s: %s", name, what, type(exc).__name__, exc)
            if on_failure is not None:
                try:
                    on_failure(exc)
                except Exception:
                    logger.exception("Could not record that %s was not queued", what)

    transaction.on_commit(send)
