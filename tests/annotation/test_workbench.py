"""The moderation workbench (issue 14): Carol (staff) finds entries by text, category, status,
flags, author, team and submission days, pages through them, and acts on many at once; each
entry is done or skipped with the reason, and contributors may do none of it."""

import datetime
import html
import re
from zoneinfo import ZoneInfo

import pytest

from annotation import services
from annotation.models import (
    Decision,
    EntryStatus,
    Flag,
    FlagKind,
    FlagStatus,
    Overturn,
    Profile,
)
from annotation.services.moderation import MAX_BULK_ENTRIES
from annotation.views import moderation as moderation_views
from config.errors import ActionForbidden
from tests.factories import EntryFactory, TeamFactory, UserFactory, category, submitted

pytestmark = pytest.mark.django_db

URL = "/moderation/entries/"


def listed(client, **params) -> list[int]:
    """The entries the workbench lists for these filters, in their order (the page must be 200)."""
    response = client.get(URL, params)
    assert response.status_code == 200, response.content.decode()[:2000]
    return [int(pk) for pk in re.findall(r'<tr data-entry="(\d+)"', response.content.decode())]


def flag(entry, kind=FlagKind.AI_TEXT, status=FlagStatus.OPEN) -> Flag:
    return Flag.objects.create(
        entry=entry,
        kind=kind,
        evidence=f"{kind} finding",
        evidence_key=f"{kind}:{entry.pk}:{Flag.objects.count()}",
        blocking=True,
        status=status,
    )


def decided(author, moderator, verdict: str):
    """An entry a moderator decided (a round with a Decision, which an overturn needs)."""
    entry = submitted(author)
    services.entry_decide(entry=entry, moderator=moderator, verdict=verdict, reason="Checked.")
    entry.refresh_from_db()
    return entry


def message(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


# --- Filters ---------------------------------------------------------------------------------


def test_text_search_looks_in_instruction_context_and_response_ignoring_case(carol_client, alice):
    in_instruction = submitted(alice, instruction="Which RIVER is the longest in Europe?")
    in_context = submitted(alice, context="The Volga river flows into the Caspian Sea.")
    in_response = submitted(alice, response="The Danube, the river of four capitals.")
    submitted(alice, instruction="Name three primary colours.", response="Red, yellow, blue.")
    found = listed(carol_client, q="  river ")
    assert sorted(found) == sorted([in_instruction.pk, in_context.pk, in_response.pk])
    assert listed(carol_client, q="CASPIAN") == [in_context.pk]
    assert listed(carol_client, q="no such words anywhere") == []
    # The words are text, not a pattern: wildcards and brackets match only themselves.
    special = submitted(alice, response="Roughly 50% (APPROX.) of [Été] rain_fall, a+b.")
    assert listed(carol_client, q="50% (approx.) of [Été] rain_fall, A+B") == [special.pk]
    assert listed(carol_client, q="rain%fall") == listed(carol_client, q="r.in") == []


def test_category_and_status_filters(carol_client, alice):
    open_qa = submitted(alice)
    closed_qa = submitted(alice, category=category("closed_qa"), context="A passage.")
    accepted = EntryFactory(author=alice, status=EntryStatus.ACCEPTED)
    withdrawn = EntryFactory(author=alice, status=EntryStatus.WITHDRAWN)
    assert listed(carol_client, category="closed_qa") == [closed_qa.pk]
    assert sorted(listed(carol_client, status="submitted")) == sorted([open_qa.pk, closed_qa.pk])
    assert listed(carol_client, status="accepted") == [accepted.pk]
    assert listed(carol_client, status="withdrawn") == [withdrawn.pk]
    assert listed(carol_client, category="open_qa", status="accepted") == [accepted.pk]


def test_flag_kind_and_status_pick_entries_having_one_such_flag(carol_client, alice):
    ai_open = submitted(alice)
    flag(ai_open, FlagKind.AI_TEXT, FlagStatus.OPEN)
    mixed = submitted(alice)  # an open AI flag of nothing: a dismissed AI one, an open PD one
    flag(mixed, FlagKind.AI_TEXT, FlagStatus.DISMISSED)
    flag(mixed, FlagKind.PERSONAL_DATA, FlagStatus.OPEN)
    submitted(alice)  # no flags

    assert listed(carol_client, flag_kind="ai_text", flag_status="open") == [ai_open.pk]
    assert sorted(listed(carol_client, flag_kind="ai_text")) == sorted([ai_open.pk, mixed.pk])
    assert listed(carol_client, flag_kind="ai_text", flag_status="dismissed") == [mixed.pk]
    assert sorted(listed(carol_client, flag_status="open")) == sorted([ai_open.pk, mixed.pk])
    assert listed(carol_client, flag_kind="personal_data", flag_status="confirmed") == []
    # Each row names its open flags.
    page = carol_client.get(URL, {"flag_kind": "ai_text", "flag_status": "open"})
    assert "Reads like AI-generated text" in page.content.decode()


def test_author_by_username_or_display_name_and_team(carol_client, alice, bob, dave):
    sales, legal = TeamFactory(name="Sales"), TeamFactory(name="Legal")
    Profile.objects.create(user=alice, display_name="Alice Liddell", team=sales)
    Profile.objects.create(user=bob, display_name="Bobby", team=legal)
    Profile.objects.create(user=dave, team=sales)
    alices, bobs, daves = submitted(alice), submitted(bob), submitted(dave)

    assert listed(carol_client, author="ALICE") == [alices.pk]
    assert listed(carol_client, author="alice liddell") == [alices.pk]
    assert listed(carol_client, author="bobby") == [bobs.pk]
    assert listed(carol_client, author="ali") == []  # a name, not a fragment of one
    assert sorted(listed(carol_client, team=sales.pk)) == sorted([alices.pk, daves.pk])
    assert listed(carol_client, team=legal.pk, author="bob") == [bobs.pk]
    # Each row shows the author's name and team.
    page = carol_client.get(URL, {"team": legal.pk}).content.decode()
    assert "Bobby" in page and "· Legal" in page


def test_submitted_between_takes_whole_days_in_the_company_time_zone(carol_client, alice, settings):
    settings.TIME_ZONE = "America/Los_Angeles"
    zone = ZoneInfo("America/Los_Angeles")

    def at(day, hour, minute):
        moment = datetime.datetime(2025, 6, day, hour, minute, tzinfo=zone)
        return submitted(alice, submitted_at=moment)

    # 23:30 on the 9th in Los Angeles is already the 10th in UTC: not the 10th's; 23:50 on the
    # 10th is the 11th in UTC: still the 10th's.
    evening_before = at(9, 23, 30)
    just_after_midnight = at(10, 0, 10)
    just_before_midnight = at(10, 23, 50)
    next_day = at(11, 0, 5)

    one_day = {"submitted_from": "2025-06-10", "submitted_to": "2025-06-10"}
    assert listed(carol_client, **one_day) == [just_before_midnight.pk, just_after_midnight.pk]
    assert listed(carol_client, submitted_from="2025-06-11") == [next_day.pk]
    assert listed(carol_client, submitted_to="2025-06-09") == [evening_before.pk]


def test_drafts_are_never_listed_not_even_the_moderators_own(carol_client, alice, carol):
    EntryFactory(author=alice, instruction="A secret draft about rivers.")
    EntryFactory(author=carol, instruction="Carol's own draft about rivers.")
    shown = submitted(alice, instruction="A submitted entry about rivers.")
    assert listed(carol_client) == [shown.pk]
    assert listed(carol_client, q="rivers") == [shown.pk]
    refused = carol_client.get(URL, {"status": "draft"})
    assert refused.status_code == 400 and "<tr data-entry=" not in refused.content.decode()


def test_newest_submission_first_with_counts_and_pages_that_keep_the_filters(
    carol_client, alice, monkeypatch
):
    monkeypatch.setattr(moderation_views, "ENTRIES_PER_PAGE", 2)
    base = datetime.datetime(2025, 6, 10, 9, 0, tzinfo=datetime.UTC)
    rivers = [
        submitted(
            alice,
            instruction=f"River question {n}",
            submitted_at=base + datetime.timedelta(hours=n),
        )
        for n in range(3)
    ]
    submitted(alice, instruction="Mountains", submitted_at=base + datetime.timedelta(hours=9))

    first = carol_client.get(URL, {"q": "river", "status": "submitted"})
    page = html.unescape(first.content.decode())
    assert "3 entries match" in page
    assert re.findall(r'<tr data-entry="(\d+)"', page) == [str(rivers[2].pk), str(rivers[1].pk)]
    assert 'href="/moderation/entries/?q=river&status=submitted&page=2"' in page
    assert listed(carol_client, q="river", status="submitted", page=2) == [rivers[0].pk]
    # The bulk form posts back to the same filtered page.
    assert 'action="/moderation/entries/?q=river&status=submitted&page=1"' in page
    assert "1 entry matches" in carol_client.get(URL, {"q": "Mountains"}).content.decode()


def test_bad_filter_values_are_refused_beside_their_fields_never_a_500(carol_client, alice):
    submitted(alice)
    response = carol_client.get(
        URL,
        {
            "status": "draft",
            "category": "no-such-category",
            "flag_kind": "bogus",
            "flag_status": "bogus",
            "team": "not-a-number",
            "submitted_from": "yesterday",
            "q": "x" * 201,
        },
    )
    assert response.status_code == 400
    form = response.context["filter_form"]
    assert set(form.errors) == {
        "status",
        "category",
        "flag_kind",
        "flag_status",
        "team",
        "submitted_from",
        "q",
    }
    page = response.content.decode()
    assert "Enter a valid date." in page and 'class="errors"' in page
    assert "<tr data-entry=" not in page  # no list wider than asked for

    backwards = carol_client.get(
        URL, {"submitted_from": "2025-06-10", "submitted_to": "2025-06-01"}
    )
    assert backwards.status_code == 400
    assert "The last day comes before the first." in backwards.content.decode()
    # A page number out of range shows the last page.
    assert carol_client.get(URL, {"page": "999"}).status_code == 200


# --- Permissions -----------------------------------------------------------------------------


def test_contributors_get_403_and_anonymous_visitors_are_sent_to_sign_in(client, alice, bob):
    entry = submitted(alice)
    body = {"entries": [entry.pk], "action": "accept", "reason": "Looks fine."}
    assert client.get(URL)["Location"].startswith("/accounts/sign-in/")
    assert client.post(URL, body)["Location"].startswith("/accounts/sign-in/")
    client.force_login(bob)
    assert client.get(URL).status_code == 403
    assert client.post(URL, body).status_code == 403
    entry.refresh_from_db()
    assert entry.status == EntryStatus.SUBMITTED
    with pytest.raises(ActionForbidden):
        services.moderation_bulk(moderator=bob, entry_ids=[entry.pk], action="accept", reason="x")


def test_the_nav_and_the_moderation_page_lead_to_the_workbench(carol_client, client, bob):
    page = carol_client.get("/moderation/").content.decode()
    assert page.count(f'href="{URL}"') == 2  # the menu and the page
    client.force_login(bob)
    assert f'href="{URL}"' not in client.get("/entries/").content.decode()


# --- Bulk actions ----------------------------------------------------------------------------


def test_confirm_flags_resolves_the_open_flags_of_the_selected_entries_with_the_note(
    carol_client, alice, carol
):
    one, two = submitted(alice), submitted(alice)
    flags = [flag(one, FlagKind.AI_TEXT), flag(one, FlagKind.PERSONAL_DATA), flag(two)]
    unflagged, own = submitted(alice), submitted(carol)
    flag(own)
    response = carol_client.post(
        f"{URL}?status=submitted",
        {
            "entries": [one.pk, two.pk, unflagged.pk, own.pk],
            "action": "confirm_flags",
            "reason": "Checked by hand.",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?status=submitted"
    for each in flags:
        each.refresh_from_db()
        assert (each.status, each.note, each.resolved_by) == (
            FlagStatus.CONFIRMED,
            "Checked by hand.",
            carol,
        )
    assert Flag.objects.get(entry=own).status == FlagStatus.OPEN
    said = message(carol_client.get(response["Location"]))
    assert said == (
        f"2 done; 2 skipped: #{unflagged.pk} has no open flags; #{own.pk} is your own entry."
    )


def test_dismiss_flags_of_one_kind_only_and_without_a_note(carol_client, alice):
    entry = submitted(alice)
    ai, personal = flag(entry, FlagKind.AI_TEXT), flag(entry, FlagKind.PERSONAL_DATA)
    response = carol_client.post(
        URL,
        {"entries": [entry.pk], "action": "dismiss_flags", "kind": "personal_data"},
        follow=True,
    )
    ai.refresh_from_db()
    personal.refresh_from_db()
    assert (ai.status, personal.status) == (FlagStatus.OPEN, FlagStatus.DISMISSED)
    assert message(response) == "1 done."
    again = carol_client.post(
        URL,
        {"entries": [entry.pk], "action": "dismiss_flags", "kind": "personal_data"},
        follow=True,
    )
    assert message(again) == (
        f"0 done; 1 skipped: #{entry.pk} has no open flags of kind personal data."
    )


def test_accept_and_reject_decide_entries_under_review_with_the_reason(carol_client, alice, carol):
    to_accept, to_reject = submitted(alice), submitted(alice)
    withdrawn = EntryFactory(author=alice, status=EntryStatus.WITHDRAWN)
    response = carol_client.post(
        URL,
        {"entries": [to_accept.pk, withdrawn.pk], "action": "accept", "reason": "Well written."},
        follow=True,
    )
    assert message(response) == (
        f"1 done; 1 skipped: #{withdrawn.pk} is not under review or decided (it is withdrawn)."
    )
    carol_client.post(
        URL,
        {"entries": [to_reject.pk], "action": "reject", "reason": "Copied from a blog."},
        follow=True,
    )
    accepted = Decision.objects.get(entry=to_accept)
    rejected = Decision.objects.get(entry=to_reject)
    assert (accepted.outcome, accepted.decided_by, accepted.reason) == (
        "accepted",
        carol,
        "Well written.",
    )
    assert (rejected.outcome, rejected.reason) == ("rejected", "Copied from a blog.")
    to_accept.refresh_from_db()
    assert to_accept.status == EntryStatus.ACCEPTED
    # Accepting it again changes nothing and says why.
    again = carol_client.post(
        URL, {"entries": [to_accept.pk], "action": "accept", "reason": "Still fine."}, follow=True
    )
    assert message(again) == f"0 done; 1 skipped: #{to_accept.pk} is already accepted."


def test_accept_and_reject_overturn_entries_decided_the_other_way(carol_client, alice, carol):
    was_accepted = decided(alice, carol, "approve")
    was_rejected = decided(alice, carol, "reject")
    response = carol_client.post(
        URL,
        {"entries": [was_accepted.pk], "action": "reject", "reason": "It is a copy of #1."},
        follow=True,
    )
    assert message(response) == "1 done."
    carol_client.post(
        URL, {"entries": [was_rejected.pk], "action": "accept", "reason": "The facts hold."}
    )
    was_accepted.refresh_from_db()
    was_rejected.refresh_from_db()
    assert (was_accepted.status, was_rejected.status) == (
        EntryStatus.REJECTED,
        EntryStatus.ACCEPTED,
    )
    overturns = {o.decision.entry_id: o for o in Overturn.objects.select_related("decision")}
    assert overturns[was_accepted.pk].verdict == "reject"
    assert overturns[was_accepted.pk].reason == "It is a copy of #1."
    assert overturns[was_rejected.pk].verdict == "approve"
    assert overturns[was_rejected.pk].moderator == carol


def test_reopen_puts_decided_entries_back_under_review(carol_client, alice, carol):
    entry = decided(alice, carol, "reject")
    waiting = submitted(alice)
    response = carol_client.post(
        URL,
        {"entries": [entry.pk, waiting.pk], "action": "reopen", "reason": "Reviewers disagreed."},
        follow=True,
    )
    assert message(response) == (
        f"1 done; 1 skipped: #{waiting.pk} is not decided (it is submitted)."
    )
    entry.refresh_from_db()
    assert (entry.status, entry.review_round) == (EntryStatus.SUBMITTED, 2)
    assert Overturn.objects.get(decision__entry=entry).verdict == "reopen"


def test_raise_a_flag_on_many_entries_with_kind_and_note(carol_client, alice, carol):
    one = submitted(alice)
    two = EntryFactory(author=alice, status=EntryStatus.ACCEPTED)
    response = carol_client.post(
        URL,
        {
            "entries": [one.pk, two.pk],
            "action": "raise_flag",
            "kind": "moderator",
            "reason": "Same text as a travel guide.",
        },
        follow=True,
    )
    assert message(response) == "2 done."
    for entry in (one, two):
        raised = Flag.objects.get(entry=entry)
        assert (raised.kind, raised.raised_by, raised.evidence) == (
            "moderator",
            carol,
            "Same text as a travel guide.",
        )
    # The same kind again on the same entries: the service's refusal is the reason.
    again = carol_client.post(
        URL,
        {"entries": [one.pk], "action": "raise_flag", "kind": "moderator", "reason": "Again."},
        follow=True,
    )
    assert "0 done; 1 skipped:" in message(again) and "already has an open flag" in message(again)


def test_a_missing_reason_changes_nothing_and_keeps_the_selection_and_what_was_typed(
    carol_client, alice
):
    one, two, other = submitted(alice), submitted(alice), submitted(alice)
    response = carol_client.post(f"{URL}?q=", {"entries": [one.pk, two.pk], "action": "reject"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Give a reason: the authors read it." in page
    assert f'value="{one.pk}" aria-label="Select #{one.pk}" checked' in page
    assert f'value="{two.pk}" aria-label="Select #{two.pk}" checked' in page
    assert f'value="{other.pk}" aria-label="Select #{other.pk}">' in page
    assert not Decision.objects.exists()

    no_kind = carol_client.post(
        URL, {"entries": [one.pk], "action": "raise_flag", "reason": "My typed note."}
    )
    assert no_kind.status_code == 400
    page = no_kind.content.decode()
    assert "Choose the kind of flag to raise." in page
    assert "My typed note.</textarea>" in page
    assert not Flag.objects.exists()

    nothing = carol_client.post(URL, {"action": "accept", "reason": "Fine."})
    assert nothing.status_code == 400
    assert "Select at least one entry." in nothing.content.decode()
    junk = carol_client.post(URL, {"entries": ["seven"], "action": "nonsense"})
    assert junk.status_code == 400
    assert set(junk.context["bulk_form"].errors) == {"entries", "action"}


def test_at_most_200_entries_per_action(carol_client, alice):
    entry = submitted(alice)
    too_many = [entry.pk, *range(10**6, 10**6 + MAX_BULK_ENTRIES)]
    response = carol_client.post(
        URL, {"entries": too_many, "action": "accept", "reason": "All fine."}
    )
    assert response.status_code == 400
    assert "Select at most 200 entries for one action (201 are selected)." in (
        response.content.decode()
    )
    entry.refresh_from_db()
    assert entry.status == EntryStatus.SUBMITTED
    # 200 is allowed; ids the moderator cannot see are skipped as not found.
    results = services.moderation_bulk(
        moderator=UserFactory(username="erin", is_staff=True),
        entry_ids=too_many[:MAX_BULK_ENTRIES],
        action="accept",
        reason="All fine.",
    )
    assert [r.done for r in results].count(True) == 1
    assert results[1].detail == f"#{10**6} was not found"


def test_entries_the_moderator_cannot_see_are_skipped_as_not_found(alice, carol):
    draft = EntryFactory(author=alice)
    results = services.moderation_bulk(
        moderator=carol, entry_ids=[draft.pk], action="reject", reason="No."
    )
    assert [(r.done, r.detail) for r in results] == [(False, f"#{draft.pk} was not found")]
    draft.refresh_from_db()
    assert draft.status == EntryStatus.DRAFT


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"submitted_to": "9999-12-31"}, "submitted_to"),
        ({"submitted_from": "9999-12-31"}, "submitted_from"),
        ({"submitted_from": "0001-01-01"}, "submitted_from"),
        ({"submitted_to": "0001-01-01"}, "submitted_to"),
    ],
)
def test_days_out_of_range_are_refused_beside_their_field_never_a_500(
    carol_client, alice, settings, params, field
):
    """The day after 9999-12-31, or midnight of 0001-01-01 in a time zone ahead of UTC, is past
    what a date and time can hold: such days are refused as any other bad filter."""
    settings.TIME_ZONE = "Asia/Tokyo"
    submitted(alice)
    response = carol_client.get(URL, params)
    assert response.status_code == 400
    assert set(response.context["filter_form"].errors) == {field}
    page = response.content.decode()
    assert "Give a day between the years 2000 and 9998." in page
    assert "<tr data-entry=" not in page


def test_entry_numbers_out_of_range_are_refused_never_a_500(carol_client, alice):
    entry = submitted(alice)
    for junk in (2**63, 0, -1, 10**30):
        response = carol_client.post(
            URL, {"entries": [entry.pk, junk], "action": "accept", "reason": "Fine."}
        )
        assert response.status_code == 400
        assert response.context["bulk_form"].errors["entries"] == [
            "Entries are chosen by their numbers (from 1 to 9223372036854775807)."
        ]
        assert f'value="{entry.pk}" aria-label="Select #{entry.pk}" checked' in (
            response.content.decode()
        )
    entry.refresh_from_db()
    assert entry.status == EntryStatus.SUBMITTED
