import pytest

from annotation.models import ApiToken, Entry, EntryStatus, Revision
from annotation.services.tokens import key_digest
from tests.factories import EntryFactory

pytestmark = pytest.mark.django_db

PASSAGE = {
    "category": "closed_qa",
    "instruction": "When did Hubble launch?",
    "context": "The Hubble Space Telescope was launched into low Earth orbit in 1990.",
    "source_url": "https://en.wikipedia.org/wiki/Hubble_Space_Telescope",
    "response": "In 1990.",
}


def test_anonymous_callers_are_refused(api_client):
    for url in ["/api/v1/categories/", "/api/v1/entries/", "/api/v1/me/"]:
        response = api_client.get(url)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
    assert api_client.post("/api/v1/entries/", PASSAGE, format="json").status_code == 401
    assert not Entry.objects.exists()


def test_a_script_gets_a_token_and_uses_it(api_client, alice, password):
    response = api_client.post(
        "/api/v1/auth/token/", {"username": "alice", "password": password}, format="json"
    )
    assert response.status_code == 200
    key = response.json()["token"]
    assert ApiToken.objects.get(user=alice).digest == key_digest(key)

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    me = api_client.get("/api/v1/me/").json()
    assert me["username"] == "alice"
    assert me["agreement"]["accepted"] is False


def test_a_wrong_password_gets_no_token(api_client, alice):
    response = api_client.post(
        "/api/v1/auth/token/", {"username": "alice", "password": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_categories_list_all_eight_with_progress(alice_api):
    categories = alice_api.get("/api/v1/categories/").json()
    assert len(categories) == 8
    closed = next(c for c in categories if c["slug"] == "closed_qa")
    assert closed["context_policy"] == "required"
    assert closed["example"]["context"]
    assert {"accepted_count", "submitted_count", "target_count", "points_multiplier"} <= set(closed)


def test_the_whole_writing_flow_through_the_api(alice_api, alice):
    created = alice_api.post("/api/v1/entries/", PASSAGE, format="json")
    assert created.status_code == 201
    entry = created.json()
    assert list(entry) == [
        "id",
        "category",
        "instruction",
        "context",
        "response",
        "source_url",
        "status",
        "created_at",
        "updated_at",
        "submitted_at",
        "reviews",
        "decision",
        "overturn",
    ]
    assert (entry["reviews"], entry["decision"], entry["overturn"]) == ([], None, None)
    assert (entry["status"], entry["category"], entry["submitted_at"]) == (
        "draft",
        "closed_qa",
        None,
    )

    patched = alice_api.patch(
        f"/api/v1/entries/{entry['id']}/", {"response": "It launched in 1990."}, format="json"
    )
    assert patched.status_code == 200
    assert patched.json()["response"] == "It launched in 1990."
    assert patched.json()["instruction"] == PASSAGE["instruction"]

    gated = alice_api.post(f"/api/v1/entries/{entry['id']}/submit/")
    assert gated.status_code == 403
    assert "contributor agreement" in gated.json()["detail"]

    agreement = alice_api.get("/api/v1/me/agreement/").json()
    accepted = alice_api.post(
        "/api/v1/me/agreement/", {"version": agreement["version"]}, format="json"
    )
    assert accepted.status_code == 200 and accepted.json()["accepted"] is True
    assert alice_api.get("/api/v1/me/").json()["agreement"]["accepted"] is True

    submitted = alice_api.post(f"/api/v1/entries/{entry['id']}/submit/")
    assert submitted.status_code == 200
    assert submitted.json()["status"] == "submitted"
    assert submitted.json()["submitted_at"]

    listed = alice_api.get("/api/v1/entries/?status=submitted").json()
    assert [e["id"] for e in listed["results"]] == [entry["id"]]
    assert Revision.objects.filter(entry_id=entry["id"]).count() == 2


def test_accepting_an_outdated_agreement_version_is_a_conflict(alice_api):
    response = alice_api.post("/api/v1/me/agreement/", {"version": "0"}, format="json")
    assert response.status_code == 409
    assert "not the agreement in force" in response.json()["detail"]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"instruction": "   "}, "instruction", "cannot be blank"),
        ({"response": ""}, "response", "cannot be blank"),
        ({"instruction": "x" * 4001}, "instruction", "4,000 characters"),
        ({"context": "c" * 25001}, "context", "25,000 characters"),
        ({"response": "r" * 12001}, "response", "12,000 characters"),
        ({"context": ""}, "context", "needs a reference passage"),
        ({"source_url": ""}, "source_url", "web address"),
        ({"source_url": "https://www.britannica.com/topic/Hubble"}, "source_url", "allowed source"),
        ({"source_url": "file:///etc/passwd"}, "source_url", "http"),
        ({"response": "when did hubble launch?"}, "response", "repeats the instruction"),
        ({"response": PASSAGE["context"]}, "response", "reference passage itself"),
        ({"response": "In 1990.[3]"}, "response", "citation markers ([3])"),
    ],
)
def test_every_submit_rule_answers_400_with_a_field_message(
    alice_api, alice, changes, field, message
):
    from annotation import services

    services.agreement_accept(user=alice)
    entry = alice_api.post("/api/v1/entries/", {**PASSAGE, **changes}, format="json").json()
    response = alice_api.post(f"/api/v1/entries/{entry['id']}/submit/")
    assert response.status_code == 400
    assert message in " ".join(response.json()[field])
    assert Entry.objects.get(pk=entry["id"]).status == EntryStatus.DRAFT


def test_context_on_a_category_without_context_is_refused_at_submit(alice_api, alice):
    from annotation import services

    services.agreement_accept(user=alice)
    body = {**PASSAGE, "category": "open_qa"}
    entry = alice_api.post("/api/v1/entries/", body, format="json").json()
    response = alice_api.post(f"/api/v1/entries/{entry['id']}/submit/")
    assert response.status_code == 400
    assert set(response.json()) == {"context", "source_url"}


def test_unknown_category_and_bad_shapes_are_400(alice_api):
    response = alice_api.post("/api/v1/entries/", {**PASSAGE, "category": "poetry"}, format="json")
    assert response.status_code == 400 and "category" in response.json()
    response = alice_api.post(
        "/api/v1/entries/", {**PASSAGE, "instruction": ["a", "list"]}, format="json"
    )
    assert response.status_code == 400 and "instruction" in response.json()
    assert alice_api.get("/api/v1/entries/?status=bogus").status_code == 400


def test_other_peoples_entries_answer_404(alice_api, bob):
    theirs = EntryFactory(author=bob)
    base = f"/api/v1/entries/{theirs.pk}/"
    assert alice_api.get(base).status_code == 404
    assert alice_api.patch(base, {"response": "hijack"}, format="json").status_code == 404
    assert alice_api.delete(base).status_code == 404
    assert alice_api.post(base + "submit/").status_code == 404
    assert alice_api.get("/api/v1/entries/").json()["results"] == []
    theirs.refresh_from_db()
    assert theirs.response != "hijack"


def test_only_drafts_can_be_patched_or_deleted(alice_api, alice):
    submitted = EntryFactory(author=alice, status=EntryStatus.SUBMITTED)
    url = f"/api/v1/entries/{submitted.pk}/"
    response = alice_api.patch(url, {"response": "late change"}, format="json")
    assert response.status_code == 409
    assert "cannot be edited" in response.json()["detail"]
    assert alice_api.delete(url).status_code == 409
    assert Entry.objects.filter(pk=submitted.pk).exists()

    draft = EntryFactory(author=alice)
    assert alice_api.delete(f"/api/v1/entries/{draft.pk}/").status_code == 204
    assert not Entry.objects.filter(pk=draft.pk).exists()


def test_withdraw_and_reopen(alice_api, alice):
    entry = EntryFactory(author=alice, status=EntryStatus.SUBMITTED)
    assert alice_api.post(f"/api/v1/entries/{entry.pk}/withdraw/").json()["status"] == "withdrawn"
    assert alice_api.post(f"/api/v1/entries/{entry.pk}/withdraw/").status_code == 409
    assert alice_api.post(f"/api/v1/entries/{entry.pk}/reopen/").json()["status"] == "draft"


def test_openapi_schema_documents_the_writing_api(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in [
        "/api/v1/auth/token/",
        "/api/v1/categories/",
        "/api/v1/entries/",
        "/api/v1/entries/{entry_id}/",
        "/api/v1/entries/{entry_id}/submit/",
        "/api/v1/me/",
        "/api/v1/me/agreement/",
    ]:
        assert path in paths, path
    assert set(paths["/api/v1/entries/{entry_id}/"]) >= {"get", "patch", "delete"}
    assert client.get("/api/docs/").status_code == 200


def test_an_overlong_source_url_is_refused_with_400(alice_api):
    body = {**PASSAGE, "source_url": "https://en.wikipedia.org/wiki/" + "x" * 2000}
    response = alice_api.post("/api/v1/entries/", body, format="json")
    assert response.status_code == 400
    assert "source_url" in response.json()
    assert not Entry.objects.exists()
