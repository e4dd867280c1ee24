"""My entries (/entries/): paging, search, filters; confirmation before delete and withdraw;
"write another" after a submit; unfinished drafts offered when a category is opened."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotation.models import Category, Entry, EntryStatus
from annotation.views.writing import ENTRIES_PER_PAGE
from tests.factories import EntryFactory, category

pytestmark = pytest.mark.django_db


def rows(page: str) -> list[int]:
    """The entry ids listed in My entries' table, in order."""
    return [int(pk) for pk in re.findall(r'<tr data-entry="(\d+)"', page)]


def links(page: str, css_class: str = "pagination") -> list[dict]:
    """The query of every link inside the element with `css_class` (page or tab links)."""
    block = re.search(rf'<nav class="{css_class}".*?</nav>', page, re.S).group(0)
    return [
        {key: values[0] for key, values in parse_qs(urlsplit(href).query).items()}
        for href in re.findall(r'href="([^"]+)"', block.replace("&amp;", "&"))
    ]


def many_drafts(author, n: int, **kwargs) -> list[Entry]:
    return EntryFactory.create_batch(n, author=author, **kwargs)


# --- Paging ---------------------------------------------------------------------------------


def test_300_drafts_are_paged_and_page_links_keep_the_filters(alice_client, alice):
    many_drafts(alice, 300, category=category("open_qa"), instruction="A question about tides")
    EntryFactory(author=alice, category=category("brainstorming"), instruction="Tides, again")

    first = alice_client.get("/entries/?status=draft&category=open_qa&q=tides").content.decode()
    assert len(rows(first)) == ENTRIES_PER_PAGE == 25
    assert "1–25 of 300" in first
    page_links = links(first)
    assert page_links, "no page links"
    for query in page_links:
        assert query["status"] == "draft" and query["category"] == "open_qa"
        assert query["q"] == "tides"
    assert {"2", "12"} <= {query["page"] for query in page_links}  # the next and the last

    second = alice_client.get(
        "/entries/?status=draft&category=open_qa&q=tides&page=2"
    ).content.decode()
    assert len(rows(second)) == 25 and not set(rows(first)) & set(rows(second))
    assert "26–50 of 300" in second

    # Every entry is on exactly one page.
    seen = []
    for number in range(1, 13):
        page = alice_client.get(f"/entries/?status=draft&category=open_qa&page={number}")
        seen += rows(page.content.decode())
    assert sorted(seen) == sorted(
        Entry.objects.filter(category__slug="open_qa").values_list("pk", flat=True)
    )


@pytest.mark.parametrize("number", ["999", "13", "-1", "0"])
def test_a_page_number_beyond_the_end_shows_the_last_page(alice_client, alice, number):
    many_drafts(alice, 30)
    response = alice_client.get(f"/entries/?page={number}")
    assert response.status_code == 200
    page = response.content.decode()
    assert len(rows(page)) == 5 and "26–30 of 30" in page


@pytest.mark.parametrize("number", ["abc", "", "1.5", "9" * 40])
def test_a_page_number_that_is_not_one_shows_the_first_page(alice_client, alice, number):
    many_drafts(alice, 30)
    response = alice_client.get("/entries/", {"page": number})
    # A 40-digit number is a number: past the end, so the last page.
    expected = "26–30 of 30" if number.isdigit() else "1–25 of 30"
    assert response.status_code == 200 and expected in response.content.decode()


def test_the_list_costs_the_same_queries_for_3_or_300_entries(
    alice_client, alice, django_assert_max_num_queries
):
    many_drafts(alice, 3)
    url = "/entries/?status=draft&category=open_qa&q=a&page=1"
    with CaptureQueriesContext(connection) as few:
        alice_client.get(url)
    many_drafts(alice, 297)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(rows(alice_client.get(url).content.decode())) == 25
    with django_assert_max_num_queries(12):
        alice_client.get("/entries/?written_in=open_qa&page=7")


# --- Search and filters ---------------------------------------------------------------------


def test_search_finds_the_words_in_instruction_context_or_response_ignoring_case(
    alice_client, alice
):
    in_instruction = EntryFactory(author=alice, instruction="Why do CATS purr?")
    in_context = EntryFactory(
        author=alice, category=category("closed_qa"), context="Domestic cats purr when fed."
    )
    in_response = EntryFactory(author=alice, response="Some say the Cat purrs to heal.")
    elsewhere = EntryFactory(author=alice, instruction="Why is the sky blue?", response="Light.")

    found = set(rows(alice_client.get("/entries/", {"q": "  cAt  "}).content.decode()))
    assert found == {in_instruction.pk, in_context.pk, in_response.pk}
    assert elsewhere.pk not in found
    # A search matching nothing says so, with a way back.
    empty = alice_client.get("/entries/", {"q": "zebra"}).content.decode()
    assert rows(empty) == [] and "No entries match this search" in empty


def test_an_overlong_search_is_cut_to_its_limit_not_a_crash(alice_client, alice):
    EntryFactory(author=alice, instruction="x" * 300)
    response = alice_client.get("/entries/", {"q": "x" * 5000})
    assert response.status_code == 200
    page = response.content.decode()
    assert len(rows(page)) == 1  # the first 200 characters are searched
    assert 'maxlength="200"' in page


def test_search_characters_are_matched_literally(alice_client, alice):
    EntryFactory(author=alice, instruction="Is 100% enough?")
    other = EntryFactory(author=alice, instruction="Is 1000 enough?")
    assert other.pk not in rows(alice_client.get("/entries/", {"q": "100%"}).content.decode())
    assert len(rows(alice_client.get("/entries/", {"q": "100%"}).content.decode())) == 1
    assert rows(alice_client.get("/entries/", {"q": "_"}).content.decode()) == []


def test_the_category_filter_lists_active_categories_and_filters(alice_client, alice):
    open_qa = EntryFactory(author=alice, category=category("open_qa"))
    brainstorm = EntryFactory(author=alice, category=category("brainstorming"))
    Category.objects.filter(slug="summarization").update(is_active=False)

    page = alice_client.get("/entries/", {"category": "brainstorming"}).content.decode()
    assert rows(page) == [brainstorm.pk]
    assert '<option value="brainstorming" selected>' in page
    assert '<option value="open_qa">' in page
    assert 'value="summarization"' not in page  # inactive: not offered
    # An unknown or inactive category is left out of the filters, not an error.
    for slug in ["summarization", "nope", "x" * 500]:
        response = alice_client.get("/entries/", {"category": slug})
        assert response.status_code == 200
        assert set(rows(response.content.decode())) == {open_qa.pk, brainstorm.pk}


def test_filters_combine_and_the_tabs_keep_search_and_category(alice_client, alice):
    wanted = EntryFactory(
        author=alice,
        category=category("open_qa"),
        status=EntryStatus.SUBMITTED,
        instruction="Where do eels spawn?",
    )
    EntryFactory(author=alice, category=category("open_qa"), instruction="Where do eels live?")
    EntryFactory(
        author=alice,
        category=category("brainstorming"),
        status=EntryStatus.SUBMITTED,
        instruction="Ideas for eels",
    )
    EntryFactory(
        author=alice,
        category=category("open_qa"),
        status=EntryStatus.SUBMITTED,
        instruction="Where do salmon spawn?",
    )

    page = alice_client.get(
        "/entries/", {"q": "eels", "category": "open_qa", "status": "submitted"}
    ).content.decode()
    assert rows(page) == [wanted.pk]
    # The tabs keep the search and the category, and count within them.
    tabs = links(page, "tabs")
    assert all(t.get("q") == "eels" and t.get("category") == "open_qa" for t in tabs)
    assert re.search(r'data-status="draft">Draft <span class="count">1</span>', page)
    assert re.search(r'data-status="submitted">Submitted <span class="count">1</span>', page)
    # The search form keeps the status.
    assert '<input type="hidden" name="status" value="submitted">' in page


def test_another_users_entries_are_never_listed(alice_client, alice, bob):
    mine = EntryFactory(author=alice, instruction="My own words about eels")
    many_drafts(bob, 30, instruction="Bob's eels")
    EntryFactory(author=bob, status=EntryStatus.SUBMITTED, instruction="Bob's eels submitted")
    for query in [{}, {"q": "eels"}, {"status": "submitted"}, {"category": "open_qa"}, {"page": 2}]:
        page = alice_client.get("/entries/", query).content.decode()
        assert set(rows(page)) <= {mine.pk}
        assert "Bob" not in page
    page = alice_client.get("/entries/").content.decode()
    assert 'All <span class="count">1</span>' in page


def test_each_cell_carries_its_column_name(alice_client, alice):
    EntryFactory(author=alice)
    page = alice_client.get("/entries/").content.decode()
    row = re.search(r"<tr data-entry=.*?</tr>", page, re.S).group(0)
    labels = re.findall(r'<td data-label="([^"]+)"', row)
    assert labels == ["#", "Category", "Instruction", "Status", "Last change", "Open"]
    assert row.count("<td") == len(labels)


# --- Confirmation before delete and withdraw -------------------------------------------------


def test_delete_asks_first_and_only_the_confirming_post_deletes(alice_client, alice):
    draft = EntryFactory(author=alice, instruction="A draft to throw away")
    detail = alice_client.get(f"/entries/{draft.pk}/").content.decode()
    assert f'href="/entries/{draft.pk}/delete/"' in detail

    question = alice_client.get(f"/entries/{draft.pk}/delete/")
    assert question.status_code == 200
    page = question.content.decode()
    assert "Delete this draft?" in page and "A draft to throw away" in page
    assert 'name="confirm" value="yes"' in page
    assert f'href="/entries/{draft.pk}/"' in page  # Keep it
    assert Entry.objects.filter(pk=draft.pk).exists()

    # The old form's post, without the confirmation: nothing happens, the question is shown.
    unconfirmed = alice_client.post(f"/entries/{draft.pk}/delete/")
    assert unconfirmed.status_code == 200 and b"Delete this draft?" in unconfirmed.content
    assert Entry.objects.filter(pk=draft.pk).exists()
    assert alice_client.post(f"/entries/{draft.pk}/delete/", {"confirm": "no"}).status_code == 200
    assert Entry.objects.filter(pk=draft.pk).exists()

    done = alice_client.post(f"/entries/{draft.pk}/delete/", {"confirm": "yes"})
    assert done.status_code == 302 and done["Location"] == "/entries/"
    assert not Entry.objects.filter(pk=draft.pk).exists()


def test_withdraw_asks_first_and_only_the_confirming_post_withdraws(alice_client, alice):
    entry = EntryFactory(author=alice, status=EntryStatus.SUBMITTED)
    detail = alice_client.get(f"/entries/{entry.pk}/").content.decode()
    assert f'href="/entries/{entry.pk}/withdraw/"' in detail

    page = alice_client.get(f"/entries/{entry.pk}/withdraw/").content.decode()
    assert "Withdraw this entry from review?" in page
    unconfirmed = alice_client.post(f"/entries/{entry.pk}/withdraw/")
    assert b"Withdraw this entry from review?" in unconfirmed.content
    entry.refresh_from_db()
    assert entry.status == EntryStatus.SUBMITTED

    alice_client.post(f"/entries/{entry.pk}/withdraw/", {"confirm": "yes"})
    entry.refresh_from_db()
    assert entry.status == EntryStatus.WITHDRAWN


def test_the_confirmation_pages_of_someone_elses_entry_are_not_found(alice_client, bob):
    theirs = EntryFactory(author=bob)
    submitted = EntryFactory(author=bob, status=EntryStatus.SUBMITTED)
    assert alice_client.get(f"/entries/{theirs.pk}/delete/").status_code == 404
    assert alice_client.post(f"/entries/{theirs.pk}/delete/", {"confirm": "yes"}).status_code == 404
    assert alice_client.get(f"/entries/{submitted.pk}/withdraw/").status_code == 404
    assert Entry.objects.filter(pk=theirs.pk).exists()
    submitted.refresh_from_db()
    assert submitted.status == EntryStatus.SUBMITTED


def test_revise_acts_on_post_only(alice_client, alice):
    entry = EntryFactory(author=alice, status=EntryStatus.WITHDRAWN)
    assert alice_client.get(f"/entries/{entry.pk}/reopen/").status_code == 405
    entry.refresh_from_db()
    assert entry.status == EntryStatus.WITHDRAWN


# --- Write another --------------------------------------------------------------------------


def test_after_a_submit_the_page_offers_to_write_another_in_the_same_category(alice_client, agreed):
    response = alice_client.post(
        "/entries/submit/",
        {
            "entry": "",
            "category": "brainstorming",
            "instruction": "Give me ideas for a rainy Sunday.",
            "response": "Bake bread, visit a museum, or write letters to friends.",
        },
    )
    assert response.status_code == 302
    page = alice_client.get(response["Location"]).content.decode()
    assert "is submitted for peer review" in page
    assert 'href="/write/brainstorming/"' in page and "Write another Brainstorming entry" in page
    # Without a submit there is no offer, nor for a category that is not active.
    assert "Write another" not in alice_client.get("/entries/").content.decode()
    Category.objects.filter(slug="brainstorming").update(is_active=False)
    assert "Write another" not in alice_client.get(response["Location"]).content.decode()


# --- Unfinished drafts offered when a category is opened -----------------------------------


def test_opening_a_category_offers_its_unfinished_drafts_first(alice_client, alice, bob):
    older = EntryFactory(
        author=alice, category=category("open_qa"), instruction="Why do owls hoot?"
    )
    newer = EntryFactory(author=alice, category=category("open_qa"), instruction="")
    newer.response = "Owls hoot to mark territory"
    newer.save()
    EntryFactory(author=alice, category=category("brainstorming"))  # another category
    EntryFactory(author=alice, category=category("open_qa"), status=EntryStatus.SUBMITTED)
    EntryFactory(author=bob, category=category("open_qa"))  # someone else's
    before = Entry.objects.count()

    response = alice_client.get("/write/open_qa/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "You have 2 unfinished drafts in Open QA" in page
    assert page.index(f"Resume #{newer.pk}") < page.index(f"Resume #{older.pk}")
    assert f'href="/entries/{older.pk}/edit/"' in page and "Why do owls hoot?" in page
    assert "Owls hoot to mark territory" in page  # a draft without instruction shows its response
    assert 'href="/write/open_qa/?new=1"' in page and "Start a new one" in page
    assert 'id="entry-form"' not in page
    assert Entry.objects.count() == before  # nothing started


def test_many_drafts_are_counted_and_the_rest_linked(alice_client, alice):
    many_drafts(alice, 14, category=category("open_qa"))
    page = alice_client.get("/write/open_qa/").content.decode()
    assert "You have 14 unfinished drafts in Open QA" in page
    assert page.count("Resume #") == 10
    assert 'href="/entries/?status=draft&amp;category=open_qa"' in page


def test_start_a_new_one_opens_the_form_and_its_first_save_makes_a_new_draft(alice_client, alice):
    kept = EntryFactory(author=alice, category=category("open_qa"))
    page = alice_client.get("/write/open_qa/?new=1").content.decode()
    assert 'id="entry-form"' in page
    key = re.search(r'name="draft_key" value="([0-9a-f-]+)"', page).group(1)
    saved = alice_client.post(
        "/entries/autosave/",
        {"entry": "", "category": "open_qa", "draft_key": key, "instruction": "Brand new"},
        HTTP_HX_REQUEST="true",
    )
    assert saved.status_code == 200
    new = Entry.objects.get(author=alice, draft_key=key)
    assert new.pk != kept.pk and new.instruction == "Brand new"
    assert Entry.objects.filter(author=alice, status=EntryStatus.DRAFT).count() == 2


def test_without_drafts_in_the_category_the_form_opens_at_once(alice_client, alice):
    EntryFactory(author=alice, category=category("open_qa"), status=EntryStatus.SUBMITTED)
    page = alice_client.get("/write/open_qa/").content.decode()
    assert 'id="entry-form"' in page and "unfinished draft" not in page
