"""Withdrawing an accepted entry from future releases: who may (its author, an admin), in which
state, and the page, API and admin action that do it."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from annotation import holds, services
from annotation.models import Entry, EntryStatus, ReleaseRemoval, RemovalReason, Source
from config.errors import ActionForbidden, StateConflict
from tests.factories import EntryFactory, UserFactory, accepted_entry, approve, submitted

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(db):
    """An admin (superuser)."""
    return UserFactory(username="root", is_staff=True, is_superuser=True)


accepted = accepted_entry


def imported() -> Entry:
    source = Source.objects.create(name="dolly", license="CC-BY-SA-3.0")
    return EntryFactory(author=None, source=source, status=EntryStatus.ACCEPTED, import_key="k1")


def url(entry: Entry) -> str:
    return f"/api/v1/entries/{entry.pk}/release-withdrawal/"


# --- The service -----------------------------------------------------------------------------


def test_the_author_withdraws_an_accepted_entry_and_it_is_held_back(alice):
    entry = accepted(alice)
    removal = services.entry_release_withdraw(entry=entry, actor=alice)
    assert (removal.reason, removal.requested_by, removal.entry) == (
        RemovalReason.WITHDRAWN,
        alice,
        entry,
    )
    entry.refresh_from_db()
    assert entry.status == EntryStatus.ACCEPTED  # still accepted, points and all
    assert holds.entry_held_back(entry)
    assert not Entry.objects.exclude(holds.held_back()).filter(pk=entry.pk).exists()


@pytest.mark.parametrize("who", ["bob", "carol", "dana"])
def test_nobody_else_but_an_admin_may(who, alice, request):
    entry = accepted(alice)
    with pytest.raises(ActionForbidden, match="author, or an admin"):
        services.entry_release_withdraw(entry=entry, actor=request.getfixturevalue(who))
    assert not ReleaseRemoval.objects.exists()


def test_an_admin_withdraws_anyones_entry_and_imported_ones(alice, root):
    theirs, record = accepted(alice), imported()
    for entry in (theirs, record):
        removal = services.entry_release_withdraw(entry=entry, actor=root)
        assert removal.requested_by == root and removal.reason == RemovalReason.WITHDRAWN
    assert ReleaseRemoval.objects.count() == 2


def test_an_imported_entry_is_no_contributors_to_withdraw(alice):
    with pytest.raises(ActionForbidden):
        services.entry_release_withdraw(entry=imported(), actor=alice)


@pytest.mark.parametrize(
    ("status", "says"),
    [
        (EntryStatus.SUBMITTED, "withdraw it from review instead"),
        (EntryStatus.REJECTED, "rejected entries are never released"),
        (EntryStatus.DRAFT, "only an accepted entry is released"),
        (EntryStatus.WITHDRAWN, "only an accepted entry is released"),
    ],
)
def test_only_an_accepted_entry_can_be_withdrawn_from_releases(status, says, alice):
    entry = EntryFactory(author=alice, status=status)
    with pytest.raises(StateConflict, match=says):
        services.entry_release_withdraw(entry=entry, actor=alice)


def test_twice_is_a_conflict(alice, root):
    entry = accepted(alice)
    services.entry_release_withdraw(entry=entry, actor=alice)
    for actor in (alice, root):
        with pytest.raises(StateConflict, match="already withdrawn from future releases"):
            services.entry_release_withdraw(entry=entry, actor=actor)
    assert ReleaseRemoval.objects.count() == 1


# --- The entry's page ------------------------------------------------------------------------


def test_the_page_asks_first_says_it_is_final_then_shows_the_date(alice_client, alice):
    entry = accepted(alice)
    detail = alice_client.get(reverse("annotation:entry_detail", args=[entry.pk]))
    action = reverse("annotation:entry_action", args=[entry.pk, "release-withdraw"])
    assert action in detail.content.decode()

    question = alice_client.get(action)
    assert question.status_code == 200
    page = question.content.decode()
    assert "Withdraw this entry from future releases?" in page and "final" in page
    assert not ReleaseRemoval.objects.exists()
    # A POST without the confirmation asks again, changing nothing.
    assert alice_client.post(action).status_code == 200
    assert not ReleaseRemoval.objects.exists()

    done = alice_client.post(action, {"confirm": "yes"}, follow=True)
    assert done.redirect_chain[-1][0] == reverse("annotation:entry_detail", args=[entry.pk])
    page = done.content.decode()
    removal = ReleaseRemoval.objects.get(entry=entry)
    when = timezone.localtime(removal.created_at)
    assert f"Withdrawn from future releases on {when:%-d %b %Y}" in page
    assert action not in page  # no button once withdrawn


def test_the_page_says_why_when_refused(alice_client, alice):
    entry = submitted(alice)
    action = reverse("annotation:entry_action", args=[entry.pk, "release-withdraw"])
    done = alice_client.post(action, {"confirm": "yes"}, follow=True)
    assert "withdraw it from review instead" in done.content.decode()
    assert not ReleaseRemoval.objects.exists()


def test_the_page_is_the_authors_only(client, alice, bob):
    entry = accepted(alice)
    action = reverse("annotation:entry_action", args=[entry.pk, "release-withdraw"])
    anonymous = client.post(action, {"confirm": "yes"})
    assert anonymous.status_code == 302 and reverse("login") in anonymous["Location"]
    client.force_login(bob)
    assert client.post(action, {"confirm": "yes"}).status_code == 404
    assert not ReleaseRemoval.objects.exists()


# --- The API ---------------------------------------------------------------------------------


def test_api_the_author_gets_201_with_the_removal(alice_api, alice):
    entry = accepted(alice)
    response = alice_api.post(url(entry))
    assert response.status_code == 201, response.content
    assert response.json()["entry"] == entry.pk
    assert response.json()["reason"] == "withdrawn"
    again = alice_api.post(url(entry))
    assert again.status_code == 409 and "already withdrawn" in again.json()["detail"]


def test_api_refuses_others_with_403_and_hides_what_they_may_not_read(
    api_client, alice, bob, carol, dana, dave
):
    entry = submitted(alice)
    approve(entry, bob)  # bob reviewed it: he may read it, and is told he may not withdraw it
    approve(entry, dave)
    entry.refresh_from_db()
    assert entry.status == EntryStatus.ACCEPTED
    for who in (bob, carol):
        api_client.force_authenticate(who)
        response = api_client.post(url(entry))
        assert response.status_code == 403, who
        assert "author, or an admin" in response.json()["detail"]
    api_client.force_authenticate(dana)  # never saw it: as if it did not exist
    assert api_client.post(url(entry)).status_code == 404
    api_client.force_authenticate(None)
    assert api_client.post(url(entry)).status_code == 401
    assert not ReleaseRemoval.objects.exists()


def test_api_an_admin_withdraws_anyones_and_wrong_states_are_409(api_client, alice, root):
    api_client.force_authenticate(root)
    assert api_client.post(url(accepted(alice))).status_code == 201
    assert api_client.post(url(imported())).status_code == 201
    under_review = api_client.post(url(submitted(alice)))
    assert under_review.status_code == 409
    assert "withdraw it from review instead" in under_review.json()["detail"]
    # Someone else's draft is private, even to an admin.
    assert api_client.post(url(EntryFactory(author=alice))).status_code == 404


# --- The admin -------------------------------------------------------------------------------


def test_the_admin_action_is_for_superusers(client, alice, carol, root):
    entries = [accepted(alice), submitted(alice)]
    changelist = reverse("admin:annotation_entry_changelist")
    form = {"action": "release_withdraw", "_selected_action": [e.pk for e in entries]}

    # Carol (staff) may see and change entries in the admin, but is no superuser.
    carol.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_entry", "change_entry"])
    )
    client.force_login(carol)
    page = client.get(changelist)
    assert page.status_code == 200 and 'value="release_withdraw"' not in page.content.decode()
    # As the changelist's action form posts it (with "index"): no such action for her.
    assert client.post(changelist, form | {"index": 0}).status_code == 200
    client.post(changelist, form)
    assert not ReleaseRemoval.objects.exists()

    client.force_login(root)
    assert 'value="release_withdraw"' in client.get(changelist).content.decode()
    done = client.post(changelist, form | {"index": 0}, follow=True)
    assert list(ReleaseRemoval.objects.values_list("entry_id", flat=True)) == [entries[0].pk]
    page = done.content.decode()
    assert f"#{entries[0].pk}" in page and "withdraw it from review instead" in page
