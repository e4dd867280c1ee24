"""The workbench counts matches only up to MATCHES_COUNTED: a search most of a big drive matches
answers as fast as a narrow one, and the page says that more match than it counted."""

import re

import pytest

from annotation.views import moderation as moderation_views
from tests.factories import UserFactory, submitted

pytestmark = pytest.mark.django_db

URL = "/moderation/entries/"


def test_past_the_cap_the_page_says_more_match_and_pages_through_the_first(
    carol_client, monkeypatch
):
    monkeypatch.setattr(moderation_views, "MATCHES_COUNTED", 3)
    monkeypatch.setattr(moderation_views, "ENTRIES_PER_PAGE", 2)
    writer = UserFactory()
    for n in range(5):
        submitted(writer, instruction=f"Name a colour of the rainbow, number {n}.")

    response = carol_client.get(URL, {"q": "rainbow"})

    text = response.content.decode()
    assert response.status_code == 200
    assert "More than 3 entries match; narrow the filters to see the rest" in text
    assert len(re.findall(r'<tr data-entry="\d+"', text)) == 2
    last = carol_client.get(URL, {"q": "rainbow", "page": 2}).content.decode()
    assert len(re.findall(r'<tr data-entry="\d+"', last)) == 1  # the 3rd of the 3 counted


def test_under_the_cap_the_page_gives_the_exact_count(carol_client, monkeypatch):
    monkeypatch.setattr(moderation_views, "MATCHES_COUNTED", 3)
    writer = UserFactory()
    for n in range(3):
        submitted(writer, instruction=f"Name a colour of the rainbow, number {n}.")

    text = carol_client.get(URL, {"q": "rainbow"}).content.decode()

    assert "3 entries match" in text
    assert "More than" not in text


def test_on_postgresql_the_text_search_is_served_by_a_trigram_index(postgresql):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny test table: make the plan show
        cursor.execute(
            "EXPLAIN SELECT id FROM annotation_entry WHERE NOT (status = 'draft') "
            "AND (instruction ~* 'rainbow' OR context ~* 'rainbow' OR response ~* 'rainbow')"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "entry_text_trgm" in plan
