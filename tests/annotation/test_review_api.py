import pytest

from annotation.models import Decision, Review
from tests.factories import EntryFactory, UserFactory, handed_to, submitted

pytestmark = pytest.mark.django_db


@pytest.fixture
def bob_api(api_client, bob):
    api_client.force_authenticate(bob)
    return api_client


def test_anonymous_callers_cannot_review(api_client, alice):
    entry = submitted(alice)
    assert api_client.post("/api/v1/reviews/next/").status_code == 401
    body = {"verdict": "approve", "rating": 5}
    assert api_client.post(f"/api/v1/entries/{entry.pk}/reviews/", body).status_code == 401
    assert api_client.post(f"/api/v1/entries/{entry.pk}/skip/").status_code == 401
    decide = {"verdict": "approve", "reason": "x"}
    assert api_client.post(f"/api/v1/entries/{entry.pk}/decide/", decide).status_code == 401


def test_next_leases_an_entry_or_answers_204(bob_api, alice):
    assert bob_api.post("/api/v1/reviews/next/", {}, format="json").status_code == 204
    entry = submitted(alice)
    response = bob_api.post("/api/v1/reviews/next/", {}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == entry.pk and body["lease_expires_at"]
    assert set(body) >= {"instruction", "context", "response", "source_url", "category"}


def test_next_within_a_category(bob_api, alice):
    submitted(alice)
    wanted = {"category": "brainstorming"}
    assert bob_api.post("/api/v1/reviews/next/", wanted, format="json").status_code == 204
    unknown = bob_api.post("/api/v1/reviews/next/", {"category": "poetry"}, format="json")
    assert unknown.status_code == 400 and "category" in unknown.json()


def test_a_review_through_the_api(bob_api, alice, bob):
    entry = handed_to(submitted(alice), bob)
    response = bob_api.post(
        f"/api/v1/entries/{entry.pk}/reviews/",
        {
            "verdict": "reject",
            "rating": 2,
            "reasons": ["factual_error", "unclear_instruction"],
            "comment": "Water boils lower at altitude; say 'at sea level'.",
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["verdict"], body["rating"], body["fixed"], body["round"]) == (
        "reject",
        2,
        False,
        1,
    )
    assert body["reasons"] == ["factual_error", "unclear_instruction"]

    again = bob_api.post(
        f"/api/v1/entries/{entry.pk}/reviews/", {"verdict": "approve", "rating": 5}, format="json"
    )
    assert again.status_code == 409
    assert "already reviewed" in again.json()["detail"]
    assert Review.objects.filter(entry=entry, reviewer=bob).count() == 1


def test_a_fix_without_the_agreement_is_403_with_the_reason(bob_api, alice, bob):
    entry = handed_to(submitted(alice, response="100 degres Celsius."), bob)
    response = bob_api.post(
        f"/api/v1/entries/{entry.pk}/reviews/",
        {"verdict": "approve", "rating": 4, "response": "100 degrees Celsius."},
        format="json",
    )
    assert response.status_code == 403
    assert "Accept the contributor agreement before fixing" in response.json()["detail"]
    entry.refresh_from_db()
    assert entry.response == "100 degres Celsius."


def test_a_fix_through_the_api(bob_api, alice, bob):
    from annotation import services

    services.agreement_accept(user=bob)  # a fix needs the agreement
    entry = handed_to(submitted(alice, response="100 degres Celsius."), bob)
    response = bob_api.post(
        f"/api/v1/entries/{entry.pk}/reviews/",
        {"verdict": "approve", "rating": 4, "response": "100 degrees Celsius."},
        format="json",
    )
    assert response.status_code == 201 and response.json()["fixed"] is True
    entry.refresh_from_db()
    assert entry.response == "100 degrees Celsius."


@pytest.mark.parametrize(
    "body",
    [
        {"verdict": "approve"},
        {"verdict": "approve", "rating": 9},
        {"verdict": "meh", "rating": 3},
        {"verdict": "reject", "rating": 2},
        {"verdict": "reject", "rating": 2, "reasons": ["boring"]},
        {"verdict": "reject", "rating": 2, "reasons": "other"},
    ],
)
def test_malformed_reviews_answer_400(bob_api, alice, bob, body):
    entry = handed_to(submitted(alice), bob)
    response = bob_api.post(f"/api/v1/entries/{entry.pk}/reviews/", body, format="json")
    assert response.status_code == 400
    assert response.json()
    assert not Review.objects.exists()


def test_own_entries_drafts_and_missing_ones(api_client, alice, bob):
    api_client.force_authenticate(alice)
    own = submitted(alice)
    response = api_client.post(
        f"/api/v1/entries/{own.pk}/reviews/", {"verdict": "approve", "rating": 5}, format="json"
    )
    assert response.status_code == 403 and "own entry" in response.json()["detail"]

    draft = EntryFactory(author=bob)
    for url in [f"/api/v1/entries/{draft.pk}/reviews/", "/api/v1/entries/99999/reviews/"]:
        response = api_client.post(url, {"verdict": "approve", "rating": 5}, format="json")
        assert response.status_code == 404


def test_skip(bob_api, alice, bob):
    entry = submitted(alice)
    bob_api.post("/api/v1/reviews/next/", {}, format="json")
    assert bob_api.post(f"/api/v1/entries/{entry.pk}/skip/").status_code == 204
    entry.refresh_from_db()
    assert entry.leased_to is None
    assert bob_api.post("/api/v1/reviews/next/", {}, format="json").status_code == 204


def test_only_moderators_decide(bob_api, api_client, alice, carol):
    entry = submitted(alice)
    body = {"verdict": "approve", "reason": "Fine by me."}
    refused = bob_api.post(f"/api/v1/entries/{entry.pk}/decide/", body, format="json")
    assert refused.status_code == 403
    assert not Decision.objects.exists()

    api_client.force_authenticate(carol)
    decided = api_client.post(f"/api/v1/entries/{entry.pk}/decide/", body, format="json")
    assert decided.status_code == 200
    assert decided.json()["outcome"] == "accepted" and decided.json()["by_moderator"] is True
    again = api_client.post(f"/api/v1/entries/{entry.pk}/decide/", body, format="json")
    assert again.status_code == 409
    no_reason = api_client.post(
        f"/api/v1/entries/{submitted(alice).pk}/decide/", {"verdict": "reject"}, format="json"
    )
    assert no_reason.status_code == 400 and "reason" in no_reason.json()


def test_the_author_sees_reviews_once_decided(alice_api, alice, bob, carol):
    from annotation import services

    entry = submitted(alice)
    services.review_record(
        entry=entry,
        reviewer=bob,
        verdict="reject",
        rating=2,
        reasons=["low_effort"],
        comment="Short.",
    )
    pending = alice_api.get(f"/api/v1/entries/{entry.pk}/").json()
    assert (pending["reviews"], pending["decision"]) == ([], None)

    services.review_record(
        entry=entry, reviewer=carol, verdict="reject", rating=1, reasons=["factual_error"]
    )
    decided = alice_api.get(f"/api/v1/entries/{entry.pk}/").json()
    assert decided["status"] == "rejected"
    assert decided["decision"]["outcome"] == "rejected"
    assert [(r["rating"], r["reasons"], r["comment"]) for r in decided["reviews"]] == [
        (2, ["low_effort"], "Short."),
        (1, ["factual_error"], ""),
    ]
    assert "reviewer" not in decided["reviews"][0]
    listed = alice_api.get("/api/v1/entries/").json()["results"][0]
    assert len(listed["reviews"]) == 2


def test_a_leased_entry_goes_to_one_reviewer_at_a_time_over_the_api(api_client, alice):
    reviewers = [UserFactory(username=f"r{i}") for i in range(3)]
    entry = submitted(alice)
    handed = []
    for reviewer in reviewers:
        api_client.force_authenticate(reviewer)
        handed.append(api_client.post("/api/v1/reviews/next/", {}, format="json").status_code)
    assert handed == [200, 204, 204]
    entry.refresh_from_db()
    assert entry.leased_to == reviewers[0]


def test_schema_documents_the_review_api(client):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    for path in [
        "/api/v1/reviews/next/",
        "/api/v1/entries/{entry_id}/reviews/",
        "/api/v1/entries/{entry_id}/skip/",
        "/api/v1/entries/{entry_id}/decide/",
    ]:
        assert "post" in paths[path], path


def test_a_review_of_a_decided_entry_is_a_conflict_not_a_404(bob_api, alice, bob, carol, dave):
    from annotation import services

    entry = submitted(alice)
    assert services.review_next(reviewer=bob) == entry  # bob holds it as it is decided
    for reviewer in (carol, dave):
        services.review_record(entry=entry, reviewer=reviewer, verdict="approve", rating=4)
    response = bob_api.post(
        f"/api/v1/entries/{entry.pk}/reviews/", {"verdict": "approve", "rating": 5}, format="json"
    )
    assert response.status_code == 409
    assert "not under review" in response.json()["detail"]


def test_listing_entries_with_reviews_costs_the_same_few_queries_however_many(
    alice_api, alice, bob, carol, django_assert_max_num_queries
):
    from annotation import services

    services.agreement_accept(user=bob)  # a fix needs the agreement

    def decided_entries(count):
        for _ in range(count):
            entry = submitted(alice)
            services.review_record(
                entry=entry,
                reviewer=bob,
                verdict="approve",
                rating=4,
                fix_values={"response": entry.response + " Fixed."},
            )
            services.review_record(entry=entry, reviewer=carol, verdict="approve", rating=5)

    decided_entries(3)
    with django_assert_max_num_queries(12):
        few = alice_api.get("/api/v1/entries/").json()["results"]
    decided_entries(12)
    with django_assert_max_num_queries(12):
        many = alice_api.get("/api/v1/entries/").json()["results"]
    assert (len(few), len(many)) == (3, 15)
    assert all(len(e["reviews"]) == 2 and e["decision"]["outcome"] == "accepted" for e in many)
    assert all(any(r["fix"] for r in e["reviews"]) for e in many)


def test_unchanged_text_sent_with_a_review_is_no_fix_and_needs_no_agreement(bob_api, alice, bob):
    """The API passes every text field it is given; like the page, only a change is a fix."""
    entry = handed_to(submitted(alice), bob)
    response = bob_api.post(
        f"/api/v1/entries/{entry.pk}/reviews/",
        {"verdict": "reject", "rating": 2, "reasons": ["other"], "response": entry.response},
        format="json",
    )
    assert response.status_code == 201 and response.json()["fixed"] is False
