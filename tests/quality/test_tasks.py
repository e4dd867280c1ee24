"""The quality jobs through Celery: in-process without Redis, on a real worker with it (CI)."""

import pytest

from annotation import services as annotation
from annotation.models import EntryStatus, Flag
from quality import tasks
from tests.factories import EntryFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

ANSWER = "Red, yellow and blue are the three primary colours of traditional colour theory."


def test_the_nightly_job_clusters_duplicates_through_celery(worker):
    author = UserFactory(username="author")
    annotation.agreement_accept(user=author)
    first = EntryFactory(
        author=author, status=EntryStatus.ACCEPTED, instruction="Colours?", response=ANSWER
    )
    copy = EntryFactory(
        author=author, status=EntryStatus.SUBMITTED, instruction="Colours?", response=ANSWER
    )
    report = tasks.quality_rescan.delay().get(timeout=60)["duplicates"]
    assert (report["clusters"], report["flagged"], report["full"]) == (1, 1, True)
    flag = Flag.objects.get(entry=copy)
    assert (flag.kind, flag.duplicate_of_id) == ("exact_duplicate", first.pk)
    again = tasks.quality_rescan.delay().get(timeout=60)["duplicates"]
    assert (again["flagged"], again["full"]) == (0, False)
    assert tasks.entry_check.delay(copy.pk).get(timeout=60) == 0  # already flagged: nothing new
    assert tasks.entry_check.delay(999_999).get(timeout=60) == 0  # gone meanwhile: no error
