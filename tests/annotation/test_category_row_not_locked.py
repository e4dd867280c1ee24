"""Submitting, reviewing and overturning lock the entry's row, never its category's: on a drive
day every writer and reviewer of a category would otherwise queue behind one another (and behind
an admin saving the category's guidelines) for the length of each other's transactions. Needs
PostgreSQL's row locks; CI runs it with DATABASE_URL pointing at PostgreSQL."""

import psycopg
import pytest
from django.db import OperationalError, connection

from annotation import services
from annotation.models import EntryStatus
from tests.factories import accepted_entry, approve, category, handed_to, submitted

pytestmark = pytest.mark.django_db(transaction=True)

OPEN_QA = {"instruction": "Why do cats purr when they are content?", "response": "To signal calm."}


@pytest.fixture
def category_held(postgresql, seeded):
    """A second session holding open_qa's row as an admin's unfinished save of its guidelines
    does (an UPDATE of columns no key uses: FOR NO KEY UPDATE, which leaves new entries free
    to reference the category); and
    ours giving up on any lock after a second, so that waiting for it fails instead of hanging."""
    held = category("open_qa")
    with psycopg.connect(**connection.get_connection_params()) as other:
        other.execute(
            "SELECT id FROM annotation_category WHERE id = %s FOR NO KEY UPDATE", [held.pk]
        )
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '1s'")
        try:
            yield held
        finally:
            other.rollback()
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")


def test_the_guard_itself_times_out_on_the_category_row(category_held):
    # What the tests below would meet if a service locked the category: an error, not a hang.
    with pytest.raises(OperationalError), connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM annotation_category WHERE id = %s FOR UPDATE", [category_held.pk]
        )


def test_a_submit_does_not_wait_for_its_category(category_held, agreed):
    entry = services.entry_create(author=agreed, category=category_held, values=OPEN_QA)
    services.entry_submit(entry=entry, actor=agreed)
    entry.refresh_from_db()
    assert entry.status == EntryStatus.SUBMITTED


def test_a_review_does_not_wait_for_its_category(category_held, alice, bob):
    entry = handed_to(submitted(alice, category=category_held), bob)
    approve(entry, bob)
    assert entry.reviews.filter(reviewer=bob).exists()


def test_an_overturn_does_not_wait_for_its_category(category_held, alice, carol):
    entry = accepted_entry(alice, category=category_held)
    services.entry_overturn(
        entry=entry, moderator=carol, verdict="reject", reason="The answer is wrong about purring."
    )
    entry.refresh_from_db()
    assert entry.status == EntryStatus.REJECTED
