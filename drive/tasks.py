"""The drive dashboard's periodic job (scheduled by celery beat in config/settings.py)."""

from celery import shared_task

from drive import figures


@shared_task
def drive_refresh() -> str:
    """Recompute the dashboard's figures into the cache, so that no page request pays for them.
    Idempotent; a late run only refreshes figures a little staler."""
    return figures.figures_refresh().computed_at.isoformat()
