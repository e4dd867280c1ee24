import pytest

from annotation import services as annotation
from annotation.models import Flag, FlagStatus
from quality import services
from tests.factories import EntryFactory, UserFactory, handed_to, submitted

pytestmark = pytest.mark.django_db


@pytest.fixture
def flagged(alice):
    annotation.agreement_accept(user=alice)
    entry = submitted(alice, response="Sure! Here's my number: +44 20 7946 0958")
    services.entry_check(entry=entry)
    return entry


def test_reviewers_and_the_author_see_the_flags(client, flagged, alice, bob):
    handed_to(flagged, bob)
    client.force_login(bob)
    page = client.get(f"/review/{flagged.pk}/").content.decode()
    # The number is in the text bob reviews; the flag names it masked (issue 12).
    assert "Quality flags" in page and "+•• •• •••• 0958" in page and "blocks export" in page
    client.force_login(alice)
    assert "Quality flags" in client.get(f"/entries/{flagged.pk}/").content.decode()


def test_moderators_confirm_and_dismiss_flags_from_their_queue(client, flagged, carol):
    client.force_login(carol)
    page = client.get("/moderation/").content.decode()
    flags = list(Flag.objects.filter(entry=flagged).order_by("kind"))
    assert all(f'data-flag="{flag.pk}"' in page for flag in flags)
    ai, personal = flags
    client.post(f"/moderation/flags/{ai.pk}/resolve/", {"action": "confirm", "note": "Chatbot."})
    client.post(f"/moderation/flags/{personal.pk}/resolve/", {"action": "dismiss"})
    ai.refresh_from_db()
    personal.refresh_from_db()
    assert (ai.status, ai.resolved_by, ai.note) == (FlagStatus.CONFIRMED, carol, "Chatbot.")
    assert personal.status == FlagStatus.DISMISSED and personal.resolved_at
    again = client.post(f"/moderation/flags/{ai.pk}/resolve/", {"action": "dismiss"}, follow=True)
    assert b"already confirmed" in again.content
    assert f'data-flag="{ai.pk}"' not in client.get("/moderation/").content.decode()


def test_only_moderators_resolve_flags(client, flagged, bob):
    flag = Flag.objects.filter(entry=flagged).first()
    client.force_login(bob)
    assert (
        client.post(f"/moderation/flags/{flag.pk}/resolve/", {"action": "dismiss"}).status_code
        == 403
    )
    flag.refresh_from_db()
    assert flag.status == FlagStatus.OPEN


def test_flags_api(api_client, flagged, alice, bob, carol):
    url = f"/api/v1/entries/{flagged.pk}/flags/"
    assert api_client.get(url).status_code == 401
    api_client.force_authenticate(alice)
    flags = api_client.get(url).json()
    assert sorted(f["kind"] for f in flags) == ["ai_text", "personal_data"]
    assert set(flags[0]) >= {
        "id",
        "entry",
        "kind",
        "evidence",
        "blocking",
        "status",
        "duplicate_of",
        "similarity",
    }
    handed_to(flagged, bob)
    api_client.force_authenticate(bob)  # a reviewer
    assert len(api_client.get(url).json()) == 2
    assert api_client.get("/api/v1/flags/?status=open").status_code == 403
    flag_id = flags[0]["id"]
    refused = api_client.post(
        f"/api/v1/flags/{flag_id}/resolve/", {"action": "dismiss"}, format="json"
    )
    assert refused.status_code == 403

    api_client.force_authenticate(carol)
    listed = api_client.get("/api/v1/flags/?status=open").json()["results"]
    assert {f["id"] for f in listed} == {f["id"] for f in flags}
    assert api_client.get("/api/v1/flags/?status=weird").status_code == 400
    bad = api_client.post(f"/api/v1/flags/{flag_id}/resolve/", {"action": "ignore"}, format="json")
    assert bad.status_code == 400
    done = api_client.post(
        f"/api/v1/flags/{flag_id}/resolve/", {"action": "confirm", "note": "Yes."}, format="json"
    )
    assert done.status_code == 200 and done.json()["status"] == "confirmed"
    again = api_client.post(
        f"/api/v1/flags/{flag_id}/resolve/", {"action": "confirm"}, format="json"
    )
    assert again.status_code == 409
    assert api_client.get("/api/v1/flags/?status=confirmed").json()["count"] == 1


def test_a_drafts_flags_are_the_authors_alone(api_client, alice):
    draft = EntryFactory(author=alice)
    api_client.force_authenticate(UserFactory(username="stranger"))
    assert api_client.get(f"/api/v1/entries/{draft.pk}/flags/").status_code == 404
    assert api_client.get("/api/v1/entries/999999/flags/").status_code == 404
    api_client.force_authenticate(alice)
    assert api_client.get(f"/api/v1/entries/{draft.pk}/flags/").json() == []


def test_schema_documents_the_flags_api(client):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert "get" in paths["/api/v1/entries/{entry_id}/flags/"]
    assert "get" in paths["/api/v1/flags/"]
    assert "post" in paths["/api/v1/flags/{flag_id}/resolve/"]


def test_moderators_do_not_resolve_flags_on_their_own_entries(carol):
    annotation.agreement_accept(user=carol)
    own = submitted(carol, response="As an AI language model, I would say yes.")
    services.entry_check(entry=own)
    flag = Flag.objects.get(entry=own)
    from config.errors import ActionForbidden

    with pytest.raises(ActionForbidden):
        annotation.flag_resolve(flag=flag, moderator=carol, action="dismiss")
    flag.refresh_from_db()
    assert flag.status == FlagStatus.OPEN


def test_an_accepted_entry_is_checked_again_when_the_decision_commits(
    alice, bob, carol, django_capture_on_commit_callbacks, eager_celery
):
    entry = submitted(alice, response="A plain answer.")
    annotation.agreement_accept(user=bob)  # a fix needs the agreement
    with django_capture_on_commit_callbacks(execute=True):
        annotation.review_record(
            entry=entry,
            reviewer=bob,
            verdict="approve",
            rating=4,
            fix_values={"response": "A plain answer; mail me at x@corp.example."},
        )
        annotation.review_record(entry=entry, reviewer=carol, verdict="approve", rating=4)
    assert Flag.objects.filter(entry=entry, kind="personal_data").exists()


def test_raising_many_flags_inserts_the_new_ones_and_returns_them_saved(alice, bob):
    """flags_raise_many, the rescans' insert of many flags: a finding already flagged, or
    given twice, makes no second row; what it returns is exactly the rows it inserted, saved,
    with their ids."""
    entries = [submitted(alice), submitted(bob)]

    def flag(entry, key: str) -> Flag:
        return Flag(entry=entry, kind="ai_text", evidence=key, evidence_key=key, blocking=True)

    annotation.flags_raise_many(flags=[flag(entries[0], "k")])
    raised = annotation.flags_raise_many(
        flags=[
            flag(entries[0], "k"),  # flagged already
            flag(entries[0], "new"),
            flag(entries[1], "k"),
            flag(entries[1], "k"),  # twice in one call
        ]
    )
    assert sorted((f.entry_id, f.evidence_key) for f in raised) == [
        (entries[0].pk, "new"),
        (entries[1].pk, "k"),
    ]
    assert Flag.objects.count() == 3
    for saved in raised:
        stored = Flag.objects.get(pk=saved.pk)
        assert (stored.entry_id, stored.evidence_key, stored.status) == (
            saved.entry_id,
            saved.evidence_key,
            FlagStatus.OPEN,
        )
        assert stored.created_at == saved.created_at and not saved._state.adding
