import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("flock")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def registered_task(name: str):
    """The task registered as `name` ("exports.tasks.snapshot_build").

    Services queue their jobs through this, by name, so that no services module imports the
    tasks module that imports it (tasks call services; the dependency points one way). The
    tasks modules are discovered on first use in a web process, as a worker does at start.
    """
    if name not in app.tasks:
        app.loader.import_default_modules()
    return app.tasks[name]
