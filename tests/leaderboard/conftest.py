import datetime

import pytest
from django.utils import timezone

from annotation import services as annotation
from tests.factories import submitted


@pytest.fixture
def accept():
    """Have two colleagues approve an entry, so that it is accepted (and scored)."""

    def accept_entry(entry, *reviewers):
        for reviewer in reviewers:
            annotation.review_record(entry=entry, reviewer=reviewer, verdict="approve", rating=4)
        entry.refresh_from_db()
        return entry

    return accept_entry


@pytest.fixture
def submitted_at():
    def make(author, when: datetime.datetime, **kwargs):
        return submitted(author, submitted_at=when, **kwargs)

    return make


@pytest.fixture
def now():
    return timezone.now()
