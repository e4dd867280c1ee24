"""A moderator overturns or reopens a decided entry, with a reason its author reads: the service's
rules, the API, the review page's form and what the author sees. (The points: tests/leaderboard/
test_overturn_points.py.)"""

import threading

import pytest
from django.core.exceptions import ValidationError

from annotation import selectors, services
from annotation.models import (
    MAX_DECISION_REASON_CHARS,
    Decision,
    EntryStatus,
    Notification,
    NotificationKind,
    Overturn,
)
from config.errors import ActionForbidden, StateConflict
from tests.factories import EntryFactory, UserFactory, approve, reject, submitted

pytestmark = pytest.mark.django_db

REASON = "The reference passage says 1889, not 1898: the answer is wrong."


@pytest.fixture
def accepted(alice, bob, dave):
    """Alice's entry, accepted by Bob and Dave."""
    entry = submitted(alice)
    approve(entry, bob)
    approve(entry, dave)
    entry.refresh_from_db()
    return entry


@pytest.fixture
def erin_and_frank(db):
    """Two more reviewers, for a reopened entry's new round."""
    return UserFactory(username="erin"), UserFactory(username="frank")


def overturn(entry, moderator, verdict="reject", reason=REASON, **kwargs):
    return services.entry_overturn(
        entry=entry, moderator=moderator, verdict=verdict, reason=reason, **kwargs
    )


# --- The service ------------------------------------------------------------------------------


def test_rejecting_an_accepted_entry_decides_its_round_again(accepted, carol):
    first = Decision.objects.get(entry=accepted)
    made = overturn(accepted, carol, "reject")
    accepted.refresh_from_db()
    assert accepted.status == EntryStatus.REJECTED
    assert (made.decision, made.verdict, made.reason, made.moderator) == (
        first,
        "reject",
        REASON,
        carol,
    )
    new = made.decision_made
    assert (new.round, new.outcome, new.decided_by, new.reason) == (1, "rejected", carol, REASON)
    assert (new.approvals, new.rejections) == (2, 0)  # the round's votes, as counted
    assert selectors.decision_current(entry=accepted) == new
    assert list(selectors.decisions_current().filter(entry=accepted)) == [new]


def test_the_author_is_told_once_with_the_reason(accepted, alice, carol):
    Notification.objects.all().delete()
    overturn(accepted, carol, "reject")
    (told,) = Notification.objects.all()
    assert (told.recipient, told.kind) == (alice, NotificationKind.ENTRY_OVERTURNED)
    assert f"#{accepted.pk} (was accepted): it is now rejected" in told.text
    assert REASON in told.text and told.link == f"/entries/{accepted.pk}/"


def test_a_long_reason_is_cut_in_the_notification_but_whole_on_the_entry_page(
    accepted, alice, carol, client
):
    reason = "Wrong date. " * 100
    overturn(accepted, carol, "reject", reason=reason.strip())
    told = Notification.objects.get(kind=NotificationKind.ENTRY_OVERTURNED)
    assert len(told.text) <= 300 and told.text.endswith("…")
    client.force_login(alice)
    page = client.get(f"/entries/{accepted.pk}/").content.decode()
    assert reason.strip() in page


def test_reopening_starts_a_new_round_without_the_earlier_reviewers(accepted, bob, carol):
    overturn(accepted, carol, "reopen", reason="Let fresh eyes look at the dates.")
    accepted.refresh_from_db()
    assert accepted.status == EntryStatus.SUBMITTED
    assert (accepted.review_round, accepted.review_count, accepted.decided_at) == (2, 0, None)
    assert accepted.leased_to is None
    assert selectors.decision_current(entry=accepted) is None
    assert services.review_next(reviewer=bob) is None  # he reviewed it once already
    with pytest.raises(StateConflict, match="already reviewed"):
        approve(accepted, bob)
    erin, frank = UserFactory(username="erin"), UserFactory(username="frank")
    assert services.review_next(reviewer=erin) == accepted
    reject(accepted, erin)
    reject(accepted, frank)
    accepted.refresh_from_db()
    assert accepted.status == EntryStatus.REJECTED
    assert Decision.objects.get(entry=accepted, round=2).outcome == "rejected"


def test_reviewer_agreement_follows_the_decision_that_stands(accepted, bob, carol):
    assert selectors.reviewer_agreement(reviewer=bob).rate == 1
    overturn(accepted, carol, "reject")
    agreement = selectors.reviewer_agreement(reviewer=bob)
    assert (agreement.decided, agreement.agreed) == (1, 0)
    overturn(accepted, carol, "reopen", reason="Open again.")
    assert selectors.reviewer_agreement(reviewer=bob).decided == 0  # not decided any more


def test_only_moderators_overturn_and_never_their_own_entries(accepted, bob, carol):
    with pytest.raises(ActionForbidden):
        overturn(accepted, bob)
    own = submitted(carol)
    approve(own, bob)
    approve(own, UserFactory(username="erin"))
    own.refresh_from_db()
    with pytest.raises(ActionForbidden, match="their own entries"):
        overturn(own, carol)
    assert not Overturn.objects.exists()


def test_a_reason_and_a_known_verdict_are_required(accepted, carol):
    for verdict, reason, field in [
        ("reject", "   ", "reason"),
        ("reject", "x" * (MAX_DECISION_REASON_CHARS + 1), "reason"),
        ("undo", REASON, "verdict"),
    ]:
        with pytest.raises(ValidationError) as caught:
            overturn(accepted, carol, verdict, reason=reason)
        assert field in caught.value.message_dict
    assert not Overturn.objects.exists()


def test_what_cannot_be_overturned_says_why(alice, accepted, carol, bob):
    with pytest.raises(StateConflict, match="already accepted"):
        overturn(accepted, carol, "approve")
    with pytest.raises(StateConflict, match="accept or reject it"):
        overturn(submitted(alice), carol)
    with pytest.raises(StateConflict, match="is draft"):
        overturn(EntryFactory(author=alice), carol)
    imported = EntryFactory(author=alice, status=EntryStatus.ACCEPTED)  # no decision, as imports
    with pytest.raises(StateConflict, match="no review decision"):
        overturn(imported, carol)
    seen = Decision.objects.get(entry=accepted).pk
    overturn(accepted, carol, "reject", seen_decision_id=seen)
    with pytest.raises(StateConflict, match="changed this entry's outcome meanwhile"):
        overturn(accepted, carol, "reopen", seen_decision_id=seen)
    with pytest.raises(StateConflict, match="already rejected"):
        overturn(accepted, carol, "reject")
    assert Overturn.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_moderators_at_once_overturn_a_decision_once(postgresql, seeded):
    alice, bob, dave = (UserFactory(username=name) for name in ("alice", "bob", "dave"))
    moderators = [UserFactory(username=f"mod{i}", is_staff=True) for i in range(2)]
    entry = submitted(alice)
    approve(entry, bob)
    approve(entry, dave)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def reopen(moderator):
        from django.db import connection

        try:
            start.wait()
            overturn(entry, moderator, "reopen")
            outcomes.append("done")
        except StateConflict:
            outcomes.append("conflict")
        except BaseException as exc:  # anything else would be a 500
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=reopen, args=(m,)) for m in moderators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "done"]
    assert Overturn.objects.count() == 1
    entry.refresh_from_db()
    assert entry.review_round == 2


# --- The API ----------------------------------------------------------------------------------


def url(entry) -> str:
    return f"/api/v1/entries/{entry.pk}/overturn/"


def test_the_api_overturns_and_answers_with_the_overturn(accepted, api_client, carol):
    api_client.force_authenticate(carol)
    response = api_client.post(
        url(accepted), {"verdict": "reject", "reason": REASON}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["entry"], body["entry_status"], body["verdict"], body["reason"]) == (
        accepted.pk,
        "rejected",
        "reject",
        REASON,
    )
    assert body["overturned"]["outcome"] == "accepted" and body["overturned"]["overturned"]
    assert body["decision"]["outcome"] == "rejected" and not body["decision"]["overturned"]

    reopened = api_client.post(
        url(accepted),
        {"verdict": "reopen", "reason": "Fresh eyes.", "decision": body["decision"]["id"]},
        format="json",
    )
    assert reopened.status_code == 201
    assert reopened.json()["decision"] is None and reopened.json()["entry_status"] == "submitted"


def test_the_api_refuses_what_it_must(accepted, alice, api_client, bob, carol):
    body = {"verdict": "reject", "reason": REASON}
    assert api_client.post(url(accepted), body, format="json").status_code == 401
    api_client.force_authenticate(bob)  # a contributor, and a reviewer of the entry
    refused = api_client.post(url(accepted), body, format="json")
    assert refused.status_code == 403 and "Only moderators" in refused.json()["detail"]

    api_client.force_authenticate(carol)
    draft = EntryFactory(author=alice)
    assert api_client.post(url(draft), body, format="json").status_code == 404
    under_review = submitted(alice)
    conflict = api_client.post(url(under_review), body, format="json")
    assert conflict.status_code == 409 and "accept or reject" in conflict.json()["detail"]
    bad = api_client.post(url(accepted), {"verdict": "undo"}, format="json")
    assert bad.status_code == 400 and {"verdict", "reason"} <= set(bad.json())
    assert api_client.post(url(accepted), body, format="json").status_code == 201
    twice = api_client.post(url(accepted), body, format="json")
    assert twice.status_code == 409 and "already rejected" in twice.json()["detail"]
    own = submitted(carol)
    approve(own, bob)
    approve(own, alice)
    assert api_client.post(url(own), body, format="json").status_code == 403


# --- The pages --------------------------------------------------------------------------------


def test_a_moderator_overturns_from_the_review_page(accepted, carol, client):
    client.force_login(carol)
    page = client.get(f"/review/{accepted.pk}/").content.decode()
    assert "Overturn the decision" in page and 'value="reopen"' in page
    decision = Decision.objects.get(entry=accepted).pk
    assert f'name="decision" value="{decision}"' in page

    missing = client.post(
        f"/review/{accepted.pk}/overturn/", {"verdict": "reject", "decision": decision}
    )
    assert missing.status_code == 400
    assert 'id="id_reason_error"' in missing.content.decode()  # beside the field

    done = client.post(
        f"/review/{accepted.pk}/overturn/",
        {"verdict": "reject", "reason": REASON, "decision": decision},
        follow=True,
    )
    assert f"Decision on #{accepted.pk} overturned" in done.content.decode()
    accepted.refresh_from_db()
    assert accepted.status == EntryStatus.REJECTED

    stale = client.post(
        f"/review/{accepted.pk}/overturn/",
        {"verdict": "reopen", "reason": "Again.", "decision": decision},
    )
    assert stale.status_code == 409 and "meanwhile" in stale.content.decode()


def test_the_page_form_is_for_moderators_on_others_decided_entries(
    accepted, alice, bob, carol, client
):
    client.force_login(bob)  # he reviewed it, so he may read its review page
    assert "Overturn the decision" not in client.get(f"/review/{accepted.pk}/").content.decode()
    refused = client.post(f"/review/{accepted.pk}/overturn/", {"verdict": "reject", "reason": "x"})
    assert refused.status_code == 403

    client.force_login(carol)
    under_review = submitted(alice)
    page = client.get(f"/review/{under_review.pk}/").content.decode()
    assert "Overturn the decision" not in page and "Moderator decision" in page
    own = submitted(carol)
    approve(own, bob)
    approve(own, alice)
    response = client.post(f"/review/{own.pk}/overturn/", {"verdict": "reject", "reason": "x"})
    assert response.status_code == 403
    assert not Overturn.objects.exists()


def test_the_author_reads_the_overturn_and_its_reason_on_the_entry_page(
    accepted, alice, carol, client
):
    overturn(accepted, carol, "reject")
    client.force_login(alice)
    page = client.get(f"/entries/{accepted.pk}/").content.decode()
    assert "A moderator overturned the earlier decision (accepted)" in page
    assert REASON in page and "status-rejected" in page

    overturn(accepted, carol, "reopen", reason="Let others look again.")
    page = client.get(f"/entries/{accepted.pk}/").content.decode()
    assert "A moderator reopened this entry for review" in page
    assert "Let others look again." in page and ">Reopened<" in page


def test_a_draft_is_not_found_unless_it_is_the_moderators_own(alice, api_client, carol):
    """Another person's draft is invisible (404); one's own is refused as one's own entry (403)."""
    api_client.force_authenticate(carol)
    body = {"verdict": "reject", "reason": REASON}
    assert api_client.post(url(EntryFactory(author=alice)), body, format="json").status_code == 404
    own = api_client.post(url(EntryFactory(author=carol)), body, format="json")
    assert own.status_code == 403 and "their own entries" in own.json()["detail"]


def test_numbers_no_row_can_have_are_a_400_or_404_never_a_500(accepted, api_client, carol, client):
    api_client.force_authenticate(carol)
    too_big = 2**63
    body = {"verdict": "reject", "reason": REASON, "decision": too_big}
    refused = api_client.post(url(accepted), body, format="json")
    assert refused.status_code == 400 and set(refused.json()) == {"decision"}
    missing = f"/api/v1/entries/{too_big}/overturn/"
    assert api_client.post(missing, {**body, "decision": 1}, format="json").status_code == 404
    gold = api_client.post(
        f"/api/v1/entries/{too_big}/gold/", {"expected": "approve"}, format="json"
    )
    assert gold.status_code == 404
    client.force_login(carol)
    page = client.post(
        f"/review/{accepted.pk}/overturn/",
        {"verdict": "reject", "reason": REASON, "decision": too_big},
    )
    assert page.status_code == 400
    assert client.post(f"/review/{too_big}/overturn/", {"verdict": "reject"}).status_code == 404
    assert client.post(f"/review/{too_big}/gold/", {"expected": "approve"}).status_code == 404
    accepted.refresh_from_db()
    assert accepted.status == EntryStatus.ACCEPTED


def test_the_api_gives_the_author_the_decision_that_stands_and_the_latest_overturn(
    accepted, alice, api_client, carol, erin_and_frank
):
    api_client.force_authenticate(alice)

    def shown():
        one = api_client.get(f"/api/v1/entries/{accepted.pk}/").json()
        listed = api_client.get("/api/v1/entries/").json()["results"]
        assert [e for e in listed if e["id"] == accepted.pk] == [one]
        return one["decision"], one["overturn"]

    decision, latest = shown()
    assert decision["outcome"] == "accepted" and latest is None

    overturn(accepted, carol, "reject")
    decision, latest = shown()
    assert (decision["outcome"], decision["by_moderator"], decision["overturned"]) == (
        "rejected",
        True,
        False,
    )
    assert (latest["verdict"], latest["reason"]) == ("reject", REASON)
    assert set(latest) == {"verdict", "reason", "created_at"}  # the moderator is not named

    overturn(accepted, carol, "reopen", reason="Let others look again.")
    decision, latest = shown()
    assert decision is None  # back under review: no decision stands
    assert (latest["verdict"], latest["reason"]) == ("reopen", "Let others look again.")

    erin, frank = erin_and_frank
    approve(accepted, erin)
    approve(accepted, frank)
    decision, latest = shown()
    assert (decision["round"], decision["outcome"], decision["by_moderator"]) == (
        2,
        "accepted",
        False,
    )
    assert latest["verdict"] == "reopen"  # still the latest a moderator did
