"""Moments for tests, built from the clock the test runs under (never a calendar date).

A test that needs a window in the future asks for one here, so that it holds on any day the suite
runs: CI also runs it under libfaketime on New Year's Eve and after a daylight-saving change.
"""

import datetime

from django.utils import timezone


def days_ahead(days: int, *, hour: int, minute: int = 0) -> datetime.datetime:
    """`days` from today, at `hour`:`minute` in the current time zone."""
    moment = timezone.localtime() + datetime.timedelta(days=days)
    return moment.replace(hour=hour, minute=minute, second=0, microsecond=0)


def datetime_local(moment: datetime.datetime) -> str:
    """How a form's `datetime-local` field writes `moment` (current time zone, to the minute)."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")
