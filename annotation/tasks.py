"""The annotation app's Celery jobs: notification e-mails (queued after commit by
services.notifications) and the daily digest (beat: CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from annotation import services


@shared_task(acks_late=True)
def notification_email(notification_id: int) -> bool:
    """Mail one notification to a recipient who wants each one as it happens."""
    return services.notification_email_send(notification_id=notification_id)


@shared_task(acks_late=True)
def notifications_digest() -> int:
    """Send each digest subscriber one mail of what happened since their last digest."""
    return services.notifications_send_digests()
