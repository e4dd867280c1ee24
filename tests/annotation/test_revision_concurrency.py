"""Saves of one entry at once never collide on a revision number (PostgreSQL's real row locks;
CI runs this with DATABASE_URL pointing at PostgreSQL)."""

import threading

import pytest
from django.db import connection, transaction

from annotation import services
from annotation.models import Entry, Revision
from annotation.services.entries import revision_record
from tests.factories import category

SAVES = 20

pytestmark = pytest.mark.django_db(transaction=True)


def run_at_once(work) -> list[BaseException]:
    """Run work(i) for i in 0..SAVES-1 on SAVES threads released together; the errors raised."""
    start = threading.Barrier(SAVES)
    failures: list[BaseException] = []

    def one(i):
        try:
            start.wait()
            work(i)
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(SAVES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return failures


def test_twenty_saves_of_one_draft_make_twenty_revisions_numbered_1_to_20(
    postgresql, seeded, alice
):
    """Autosave racing the submit button, or two tabs on one draft."""
    draft = services.entry_create(author=alice, category=category("open_qa"), values={})

    def save(i):
        services.entry_update(entry=draft, actor=alice, values={"instruction": f"Version {i}"})

    assert run_at_once(save) == []
    numbers = sorted(Revision.objects.filter(entry=draft).values_list("number", flat=True))
    assert numbers == list(range(1, SAVES + 1))
    draft.refresh_from_db()
    assert draft.revision_count == SAVES
    # The entry's text is the latest revision's.
    latest = Revision.objects.filter(entry=draft).latest("number")
    assert draft.instruction == latest.instruction


def test_revision_numbers_are_distinct_even_without_the_entrys_lock(postgresql, seeded, alice):
    """The number itself is allocated safely, whatever lock (or none) its caller holds."""
    entry = services.entry_create(
        author=alice, category=category("open_qa"), values={"instruction": "First"}
    )

    def record(i):
        with transaction.atomic():
            revision_record(entry=Entry.objects.get(pk=entry.pk), author=alice)

    assert run_at_once(record) == []
    numbers = sorted(Revision.objects.filter(entry=entry).values_list("number", flat=True))
    assert numbers == list(range(1, SAVES + 2))  # revision 1 from entry_create, then 20 more


def test_a_rolled_back_save_gives_its_number_back(seeded, alice):
    entry = services.entry_create(
        author=alice, category=category("open_qa"), values={"instruction": "First"}
    )
    with pytest.raises(RuntimeError), transaction.atomic():
        revision_record(entry=entry, author=alice)
        raise RuntimeError("the request failed after the revision")
    services.entry_update(entry=entry, actor=alice, values={"instruction": "Second"})
    assert list(Revision.objects.filter(entry=entry).values_list("number", flat=True)) == [1, 2]
