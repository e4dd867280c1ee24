"""Periodic jobs (scheduled by celery beat in config/settings.py). Each is idempotent."""

from celery import shared_task

from leaderboard import services


@shared_task(acks_late=True)
def contests_tick() -> dict:
    """Make this week's contest; finalise contests whose review grace period has ended."""
    return services.contests_tick()


@shared_task(acks_late=True)
def boards_rebuild() -> dict:
    """Recompute every cached leaderboard from the ledger."""
    return services.boards_rebuild()


@shared_task(acks_late=True)
def boards_check() -> list[str]:
    """Compare the cached leaderboards with the ledger; log and repair any difference."""
    return [drift.board for drift in services.boards_check(repair=True)]
