"""Erasing a person's data: who may, what is erased (no trace of their words in any text column),
what is kept (the ledger, the boards, the decisions), and the pages, API, admin action and
command that do it."""

from collections import Counter

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.db.models import Q, Sum
from django.urls import reverse

from annotation import holds, selectors, services
from annotation.models import (
    ApiToken,
    Decision,
    Entry,
    EntryStatus,
    Erasure,
    Flag,
    FlagKind,
    FlagStatus,
    GoldEntry,
    GoldReview,
    Notification,
    NotificationKind,
    Overturn,
    Profile,
    ReleaseRemoval,
    RemovalReason,
    Review,
    Revision,
)
from config.errors import ActionForbidden, StateConflict
from leaderboard import boards
from leaderboard import services as leaderboard_services
from leaderboard.models import ScoreEvent
from leaderboard.selectors import (
    ANONYMOUS,
    board_all_time,
    board_teams,
    display_names,
    points_total,
)
from quality import services as quality_services
from quality.models import Fingerprint
from tests.factories import PASSWORD, EntryFactory, UserFactory, approve, reject, submitted

pytestmark = pytest.mark.django_db

User = get_user_model()

# Planted in everything Alice writes and everything written about her entries.
WORD = "Quokkaflux"

# Every text column a person's words can reach (the erasure's promise, checked column by column).
TEXT_COLUMNS = {
    Entry: ["instruction", "context", "response", "source_url"],
    Revision: ["instruction", "context", "response", "source_url"],
    Review: ["comment"],
    GoldReview: ["comment"],
    Flag: ["evidence", "evidence_key", "note"],
    Decision: ["reason"],
    Overturn: ["reason"],
    Notification: ["text", "link"],
    LogEntry: ["object_repr", "change_message"],
}


def traces(word: str) -> list[str]:
    found = []
    for model, columns in TEXT_COLUMNS.items():
        for column in columns:
            if model.objects.filter(**{f"{column}__icontains": word}).exists():
                found.append(f"{model.__name__}.{column}")
    return found


def ledger() -> dict[int, int]:
    return dict(ScoreEvent.objects.values_list("user").annotate(points=Sum("points")))


@pytest.fixture
def root(db):
    """An admin (superuser)."""
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def people(alice, bob, carol, dave):
    for person in (alice, bob, carol, dave):
        services.agreement_accept(user=person)
    Profile.objects.update_or_create(
        user=alice, defaults={"display_name": f"Alice {WORD}", "oidc_identity": "https://id|a1"}
    )
    return alice, bob, carol, dave


@pytest.fixture
def world(people):
    """Alice's work in every state, reviewed and fixed by colleagues, and her own reviews and
    fixes of a colleague's entry."""
    alice, bob, carol, dave = people
    words = {
        "instruction": f"Why does the {WORD} glow at night?",
        "context": "",
        "response": f"The {WORD} glows because its shell holds phosphor.",
    }
    accepted = submitted(alice, **words)
    approve(
        accepted,
        bob,
        comment=f"Good question about the {WORD}.",
        fix_values={"response": f"The {WORD} glows because its shell holds phosphorus."},
    )
    approve(accepted, dave, comment=f"{WORD} facts check out.")
    removed = submitted(alice, **words | {"instruction": f"Where does the {WORD} live?"})
    approve(removed, bob)
    approve(removed, dave)
    services.entry_release_withdraw(entry=removed, actor=alice)
    rejected = submitted(alice, **words | {"instruction": f"Is the {WORD} a fish?"})
    reject(rejected, bob, comment=f"The {WORD} is no fish.")
    reject(rejected, dave)
    under_review = submitted(alice, **words | {"instruction": f"How big is a {WORD}?"})
    under_review.leased_to = dave
    under_review.save()
    draft = services.entry_create(
        author=alice, category=accepted.category, values={"instruction": f"A {WORD} draft"}
    )

    # Alice reviews Bob's entry, with a comment and a small fix (no planted word: it stays in
    # Bob's text, as the docs say).
    theirs = submitted(bob, instruction="What is the capital of Peru?", response="Lima, Peru")
    approve(theirs, alice, comment=f"Like a {WORD}, well put.", fix_values={"response": "Lima."})
    approve(theirs, dave)

    # Carol flags Alice's accepted entry by hand; a check's finding quotes Alice's text.
    services.flag_raise_by_hand(
        entry=accepted, moderator=carol, kind=FlagKind.MODERATOR, note=f"Check the {WORD} claim."
    )
    Flag.objects.create(
        entry=accepted,
        kind=FlagKind.AI_TEXT,
        evidence=f'"{WORD} glows" reads like a chatbot',
        evidence_key=f"response:{WORD}",
        blocking=True,
    )
    # Alice answered a gold entry of Bob's with a comment; Dave commented on Alice's as gold.
    gold = GoldEntry.objects.create(entry=theirs, expected="approve", revision=1, marked_by=carol)
    GoldReview.objects.create(
        gold=gold, reviewer=alice, handed_at=theirs.submitted_at, comment=f"A {WORD} answer."
    )
    own_gold = GoldEntry.objects.create(
        entry=accepted, expected="approve", revision=1, marked_by=carol
    )
    GoldReview.objects.create(
        gold=own_gold, reviewer=dave, handed_at=accepted.submitted_at, comment=f"{WORD}!"
    )
    Notification.objects.create(
        recipient=alice, kind=NotificationKind.ENTRY_DECIDED, text=f"About {WORD}"
    )
    services.api_token_create(user=alice, name=f"{WORD} script")
    for entry in (accepted, removed, rejected, under_review, theirs):
        entry.refresh_from_db()
    return {
        "accepted": accepted,
        "removed": removed,
        "rejected": rejected,
        "under_review": under_review,
        "draft": draft,
        "theirs": theirs,
    }


# --- Who may ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["bob", "carol", "dana"])
def test_nobody_but_the_person_or_an_admin_may_erase(who, alice, request):
    with pytest.raises(ActionForbidden, match="the person themselves, or an admin"):
        services.person_erase(person=alice, actor=request.getfixturevalue(who))
    alice.refresh_from_db()
    assert alice.is_active and alice.username == "alice"
    assert not Erasure.objects.exists()


def test_the_person_and_an_admin_may_but_only_once(alice, bob, root):
    erasure = services.person_erase(person=alice, actor=alice)
    assert erasure.erased_by == alice
    assert services.person_erase(person=bob, actor=root).erased_by == root
    for actor in (alice, root):
        with pytest.raises(StateConflict, match="already erased"):
            services.person_erase(person=alice, actor=actor)
    assert Erasure.objects.count() == 2


# --- What is erased, what is kept -----------------------------------------------------------


def test_no_trace_of_their_words_or_their_name_is_left(world, alice, bob, root):
    assert set(traces(WORD)) == {  # planted everywhere before
        "Entry.instruction",
        "Entry.response",
        "Revision.instruction",
        "Revision.response",
        "Review.comment",
        "GoldReview.comment",
        "Flag.evidence",
        "Flag.evidence_key",
        "Notification.text",
    }
    theirs_text = Entry.objects.values("instruction", "response").get(pk=world["theirs"].pk)
    erasure = services.person_erase(person=alice, actor=root)

    assert traces(WORD) == []
    person = User.objects.get(pk=alice.pk)
    assert person.username.startswith(f"erased-{alice.pk}-")
    assert (person.email, person.first_name, person.last_name) == ("", "", "")
    assert not person.has_usable_password() and not person.is_active
    profile = Profile.objects.get(user=person)
    assert (profile.display_name, profile.oidc_identity, profile.show_on_leaderboard) == (
        "",
        "",
        False,
    )
    assert not User.objects.filter(
        Q(username__icontains="alice") | Q(email__icontains="alice")
    ).exists()
    assert not Profile.objects.filter(display_name__icontains="alice").exists()
    assert not Notification.objects.filter(recipient=person).exists()
    assert not ApiToken.objects.filter(user=person).exists()

    # The draft is gone; every other entry is empty, out of releases, and none is under review.
    assert not Entry.objects.filter(pk=world["draft"].pk).exists()
    erased_ids = {world[k].pk for k in ("accepted", "removed", "rejected", "under_review")}
    assert set(Entry.objects.filter(author=person).values_list("pk", flat=True)) == erased_ids
    assert dict(
        ReleaseRemoval.objects.filter(entry__author=person).values_list("entry_id", "reason")
    ) == dict.fromkeys(erased_ids, RemovalReason.ERASED)
    under_review = Entry.objects.get(pk=world["under_review"].pk)
    assert under_review.status == EntryStatus.WITHDRAWN and under_review.leased_to is None
    assert Entry.objects.get(pk=world["accepted"].pk).status == EntryStatus.ACCEPTED
    assert all(holds.entry_held_back(Entry.objects.get(pk=pk)) for pk in erased_ids)

    # Bob's entry keeps its text (Alice's fix included); her fix's revision row is emptied.
    assert Entry.objects.values("instruction", "response").get(pk=world["theirs"].pk) == (
        theirs_text
    )
    fix = Review.objects.get(entry=world["theirs"], reviewer=person).fix
    assert (fix.instruction, fix.response) == ("", "")

    assert (erasure.entries, erasure.person_id) == (4, alice.pk)
    assert (
        erasure.revisions
        == Revision.objects.filter(Q(entry_id__in=erased_ids) | Q(author=person)).count()
    )
    assert erasure.reviews == 4  # bob's and dave's on hers, bob's rejection, hers on bob's


def test_what_decides_and_scores_is_kept(world, alice, bob, dave, root):
    reviews_before = list(
        Review.objects.order_by("pk").values_list("pk", "verdict", "rating", "reasons", "counts")
    )
    decisions_before = list(Decision.objects.order_by("pk").values_list("pk", "outcome"))
    points_before = ledger()
    assert points_before[bob.pk] > 0 and points_before[dave.pk] > 0 and points_before[alice.pk]
    boards_before = boards.ledger_totals(boards.ALL)
    leaderboard_services.boards_rebuild()  # with Redis (REDIS_URL), its mirror too
    shown_before = shown_boards(root)
    totals_before = {p.pk: points_total(user=p) for p in (alice, bob, dave)}

    services.person_erase(person=alice, actor=root)

    assert (
        list(
            Review.objects.order_by("pk").values_list(
                "pk", "verdict", "rating", "reasons", "counts"
            )
        )
        == reviews_before
    )
    assert list(Decision.objects.order_by("pk").values_list("pk", "outcome")) == decisions_before
    # The ledger's sums are the same: the reviewers keep their points for her entries.
    assert ledger() == points_before
    assert boards.ledger_totals(boards.ALL) == boards_before
    # The boards as shown (from Redis with REDIS_URL, else from SQL): same members, same points.
    assert shown_boards(root) == shown_before
    assert {p.pk: points_total(user=p) for p in (alice, bob, dave)} == totals_before
    assert leaderboard_services.boards_check(repair=False) == []  # Redis equals the ledger
    # On every board she is anonymous now, even to an admin looking at the board.
    assert display_names({alice.pk, bob.pk}, viewer=root) == {alice.pk: ANONYMOUS, bob.pk: "bob"}


def shown_boards(viewer) -> dict[str, list[tuple[int, int, int]]]:
    """The all-time and team boards as a viewer reads them: (rank, member, points) per row."""
    return {
        board.scope: [(row.rank, row.member, row.points) for row in [*board.rows, *board.around]]
        for board in (board_all_time(viewer=viewer), board_teams(viewer=viewer))
    }


def test_the_erased_person_cannot_sign_in(client, alice, root):
    def sign_in(username):
        client.post(reverse("login"), {"username": username, "password": PASSWORD})
        return client.get(reverse("profile")).status_code == 200

    assert sign_in("alice")
    client.logout()
    services.person_erase(person=alice, actor=root)
    assert not sign_in("alice")
    assert not sign_in(User.objects.get(pk=alice.pk).username)


def sessions_of(user) -> int:
    return sum(
        1
        for session in Session.objects.all()
        if session.get_decoded().get("_auth_user_id") == str(user.pk)
    )


def test_their_sessions_end_and_their_tokens_go(client, alice, bob):
    """Ended and revoked by the deactivation's receivers (annotation/receivers.py)."""
    client.force_login(alice)
    services.api_token_create(user=alice, name="script")
    assert client.get(reverse("profile")).status_code == 200
    assert sessions_of(alice) == 1
    services.person_erase(person=alice, actor=alice)
    assert sessions_of(alice) == 0
    assert not ApiToken.objects.filter(user=alice).exists()
    response = client.get(reverse("profile"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_a_moderators_words_are_erased_and_their_decisions_kept(people, alice, bob, carol, root):
    """Carol, a moderator, leaves: her reasons and notes go, what she decided stays."""
    decided = submitted(bob, instruction="What is the tallest tree?", response="A redwood.")
    decision = services.entry_decide(
        entry=decided, moderator=carol, verdict="approve", reason=f"Fine, {WORD} aside."
    )
    overturned = submitted(alice, instruction="Name a red fruit.", response="A cherry.")
    approve(overturned, bob)
    approve(overturned, UserFactory(username="erin"))
    services.entry_overturn(
        entry=overturned, moderator=carol, verdict="reject", reason=f"Not a {WORD} fruit."
    )
    flagged = submitted(bob, instruction="Name a blue bird.", response="A jay.")
    services.flag_raise_by_hand(
        entry=flagged, moderator=carol, kind=FlagKind.MODERATOR, note=f"{WORD} smell."
    )
    finding = Flag.objects.create(
        entry=flagged, kind=FlagKind.AI_TEXT, evidence="x", evidence_key="x", blocking=True
    )
    services.flag_resolve(flag=finding, moderator=carol, action="dismiss", note=f"No {WORD}.")
    notice = Notification.objects.get(recipient=alice, kind=NotificationKind.ENTRY_OVERTURNED)
    assert set(traces(WORD)) == {
        "Decision.reason",
        "Overturn.reason",
        "Flag.evidence",
        "Flag.note",
        "Notification.text",
    }
    points_before = ledger()

    services.person_erase(person=carol, actor=root)

    assert traces(WORD) == []
    notice.refresh_from_db()
    assert notice.text.endswith("Reason: (erased)") and "overturned" in notice.text
    decision.refresh_from_db()
    assert (decision.outcome, decision.decided_by_id) == ("accepted", carol.pk)
    assert Overturn.objects.get().verdict == "reject"
    assert Flag.objects.get(pk=finding.pk).status == FlagStatus.DISMISSED
    assert ledger() == points_before


# --- Duplicates ------------------------------------------------------------------------------


def test_a_colleagues_copy_of_an_erased_entry_is_no_longer_held_back(
    people, alice, bob, root, django_capture_on_commit_callbacks, eager_celery
):
    text = {
        "instruction": "List three uses of baking soda around the house.",
        "response": "Cleaning ovens, deodorising fridges and softening dried beans.",
    }
    original = EntryFactory(author=alice, status=EntryStatus.ACCEPTED, **text)
    copy = EntryFactory(author=bob, status=EntryStatus.ACCEPTED, **text)
    quality_services.fingerprint_update(entry=original)
    quality_services.duplicate_check(entry=copy)
    flag = Flag.objects.get(entry=copy, kind=FlagKind.EXACT_DUPLICATE)
    assert flag.duplicate_of_id == original.pk and holds.entry_held_back(copy)

    with django_capture_on_commit_callbacks(execute=True):
        services.person_erase(person=alice, actor=root)

    flag.refresh_from_db()
    assert flag.status == FlagStatus.CLOSED
    assert not holds.entry_held_back(copy)
    assert not Fingerprint.objects.filter(entry=original).exists()
    # The next rescans, changed-since or full, leave the emptied entry out of the index.
    quality_services.duplicates_rescan()
    quality_services.duplicates_rescan(full=True)
    assert not Fingerprint.objects.filter(entry=original).exists()
    assert not holds.entry_held_back(copy)


def test_two_erased_entries_are_not_each_others_copies(people, alice, bob, root):
    """Emptied texts are alike; the full rescan must not cluster them."""
    for _ in range(2):
        EntryFactory(author=alice, status=EntryStatus.ACCEPTED)
    services.person_erase(person=alice, actor=root)
    quality_services.duplicates_rescan(full=True)
    assert not Flag.objects.filter(
        kind__in=[FlagKind.EXACT_DUPLICATE, FlagKind.NEAR_DUPLICATE], status=FlagStatus.OPEN
    ).exists()


# --- The profile page ------------------------------------------------------------------------


def test_the_profile_page_explains_and_asks_for_the_username(alice_client, alice):
    page = alice_client.get(reverse("profile")).content.decode()
    assert "Erase my data" in page and reverse("profile_erase") in page
    assert "Kept" in page and "ledger" in page

    wrong = alice_client.post(reverse("profile_erase"), {"confirm": "alicia"})
    assert wrong.status_code == 400
    page = wrong.content.decode()
    assert "Type your username (alice) to confirm." in page and 'value="alicia"' in page
    alice.refresh_from_db()
    assert alice.is_active and not Erasure.objects.exists()


def test_erasing_from_the_profile_signs_out_with_a_message(alice_client, alice, world):
    done = alice_client.post(reverse("profile_erase"), {"confirm": "alice"}, follow=True)
    assert done.redirect_chain[-1][0] == reverse("login")
    assert "Your data is erased" in done.content.decode()
    assert Erasure.objects.get().erased_by_id == alice.pk
    after = alice_client.get(reverse("profile"))
    assert after.status_code == 302 and reverse("login") in after["Location"]


def test_the_profile_erase_is_for_the_signed_in(client, alice):
    response = client.post(reverse("profile_erase"), {"confirm": "alice"})
    assert response.status_code == 302 and reverse("login") in response["Location"]
    assert not Erasure.objects.exists()


# --- The API ---------------------------------------------------------------------------------


def test_api_erase_needs_the_username_and_answers_the_counts(alice_api, alice, world):
    wrong = alice_api.post("/api/v1/me/erase/", {"confirm": "bob"}, format="json")
    assert wrong.status_code == 400 and "alice" in str(wrong.json()["confirm"])
    missing = alice_api.post("/api/v1/me/erase/", {}, format="json")
    assert missing.status_code == 400
    assert not Erasure.objects.exists()

    done = alice_api.post("/api/v1/me/erase/", {"confirm": "alice"}, format="json")
    assert done.status_code == 200, done.content
    assert done.json()["entries"] == 4
    assert traces(WORD) == []


def test_api_erase_refuses_the_anonymous(api_client, alice):
    assert api_client.post(
        "/api/v1/me/erase/", {"confirm": "alice"}, format="json"
    ).status_code in (
        401,
        403,
    )
    assert not Erasure.objects.exists()


# --- The admin action and the command --------------------------------------------------------


def grant(user, *codenames: str) -> None:
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))


def test_the_admin_action_confirms_first_and_is_for_superusers(client, alice, bob, carol, root):
    changelist = reverse("admin:auth_user_changelist")
    form = {"action": "erase", "_selected_action": [alice.pk, bob.pk]}

    # Carol (staff) may see and change accounts in the admin, but is no superuser.
    grant(carol, "view_user", "change_user")
    client.force_login(carol)
    page = client.get(changelist)
    assert page.status_code == 200 and 'value="erase"' not in page.content.decode()
    # As the changelist's action form posts it (with "index"): no such action for her.
    assert client.post(changelist, form | {"index": 0, "confirmed": "yes"}).status_code == 200
    client.post(changelist, form | {"confirmed": "yes"})
    assert not Erasure.objects.exists()

    client.force_login(root)
    assert 'value="erase"' in client.get(changelist).content.decode()
    question = client.post(changelist, form)
    assert question.status_code == 200
    page = question.content.decode()
    assert "Erase these people" in page and "alice" in page and "Kept" in page
    assert not Erasure.objects.exists()

    done = client.post(changelist, form | {"confirmed": "yes"}, follow=True)
    assert "Erased the data of alice, bob" in done.content.decode()
    assert Counter(Erasure.objects.values_list("erased_by", flat=True)) == {root.pk: 2}


def test_the_command_acts_as_a_superuser_only(alice, carol, root, capsys):
    with pytest.raises(CommandError, match="not an active superuser"):
        call_command("erase_person", "alice", admin="carol")
    with pytest.raises(CommandError, match="No account named"):
        call_command("erase_person", "nobody", admin="root")
    assert not Erasure.objects.exists()
    call_command("erase_person", "alice", admin="root")
    erased_name = User.objects.get(pk=alice.pk).username
    assert f"now {erased_name}" in capsys.readouterr().out
    assert Erasure.objects.get().erased_by == root
    with pytest.raises(CommandError, match="already erased"):
        call_command("erase_person", erased_name, admin="root")


def test_an_admin_is_not_erased_in_the_middle_of_their_own_batch(client, alice, root):
    changelist = reverse("admin:auth_user_changelist")
    client.force_login(root)
    form = {"action": "erase", "_selected_action": [alice.pk, root.pk], "confirmed": "yes"}
    done = client.post(changelist, form, follow=True)
    page = done.content.decode()
    assert "Erased the data of alice." in page
    assert "root: erase your own data from your profile." in page.lower()
    assert list(Erasure.objects.values_list("person", flat=True)) == [alice.pk]
    root.refresh_from_db()
    assert root.is_active and root.username == "root"


def test_the_command_refuses_the_admin_themselves(root):
    with pytest.raises(CommandError, match="erase your own data from your profile"):
        call_command("erase_person", "root", admin="root")
    assert not Erasure.objects.exists()


# --- Nothing acts on an erased entry again --------------------------------------------------


@pytest.mark.parametrize(
    ("which", "verdict"), [("accepted", "reject"), ("rejected", "approve"), ("accepted", "reopen")]
)
def test_an_erased_entry_cannot_be_overturned_or_reopened(
    which, verdict, world, alice, carol, root
):
    entry = world[which]
    services.person_erase(person=alice, actor=root)
    assert selectors.entry_is_erased(entry=entry)
    with pytest.raises(StateConflict, match="erased with its author's data: its outcome cannot"):
        services.entry_overturn(entry=entry, moderator=carol, verdict=verdict, reason="Look again.")
    assert Entry.objects.get(pk=entry.pk).status == entry.status
    assert not Overturn.objects.filter(decision__entry=entry).exists()


def test_an_erased_entry_stops_being_gold_and_cannot_be_marked_again(
    people, alice, bob, carol, dave, root
):
    entry = submitted(alice, instruction=f"Is a {WORD} a bird?", response="No, a marsupial.")
    approve(entry, bob)
    approve(entry, dave)
    entry.refresh_from_db()
    gold, _ = services.gold_mark(entry=entry, moderator=carol, expected="approve")
    erin = UserFactory(username="erin")
    assert selectors.gold_is_handable(gold=gold)
    assert list(selectors.gold_candidates(reviewer=erin)) == [gold]

    services.person_erase(person=alice, actor=root)

    gold.refresh_from_db()
    assert not gold.is_active and not selectors.gold_is_handable(gold=gold)
    assert not selectors.gold_candidates(reviewer=erin).exists()
    with pytest.raises(StateConflict, match="erased with its author's data: it cannot be a gold"):
        services.gold_mark(entry=entry, moderator=carol, expected="approve")
    gold.refresh_from_db()
    assert not gold.is_active


def test_erasure_closes_their_open_flags_and_releases_their_leases(world, alice, bob, root):
    flagged = world["accepted"]
    assert Flag.objects.filter(entry=flagged, status=FlagStatus.OPEN).count() == 2
    theirs = submitted(bob, instruction="What is the capital of Chile?", response="Santiago.")
    Entry.objects.filter(pk=theirs.pk).update(leased_to=alice, lease_expires_at=theirs.submitted_at)

    services.person_erase(person=alice, actor=root)

    assert not Flag.objects.filter(entry__author=alice, status=FlagStatus.OPEN).exists()
    closed = Flag.objects.filter(entry=flagged)
    assert {(f.status, f.note) for f in closed} == {
        (FlagStatus.CLOSED, "Erased with its author's data")
    }
    theirs.refresh_from_db()
    assert (theirs.leased_to, theirs.lease_expires_at) == (None, None)
    assert theirs.status == EntryStatus.SUBMITTED


def test_the_erased_account_keeps_no_rights(alice, root):
    moderators = Group.objects.create(name="moderators")
    alice.is_staff = alice.is_superuser = True
    alice.save()
    alice.groups.add(moderators)
    alice.user_permissions.add(Permission.objects.get(codename="view_entry"))

    services.person_erase(person=alice, actor=alice)

    alice.refresh_from_db()
    assert not (alice.is_staff or alice.is_superuser or alice.is_active)
    assert not alice.groups.exists() and not alice.user_permissions.exists()


def test_an_inactive_account_is_sent_no_notifications(alice, bob):
    User.objects.filter(pk=bob.pk).update(is_active=False)
    made = services.notifications_create(
        kind=NotificationKind.ENTRY_DECIDED, link="/", texts={alice.pk: "Hi", bob.pk: "Hi"}
    )
    assert [n.recipient_id for n in made] == [alice.pk]
    assert list(Notification.objects.values_list("recipient", flat=True)) == [alice.pk]


def test_withdrawing_an_erased_entry_says_it_was_erased(world, alice, root):
    services.person_erase(person=alice, actor=root)
    with pytest.raises(StateConflict, match="erased with its author's data on"):
        services.entry_release_withdraw(entry=world["accepted"], actor=root)


# --- The admin's history and the erased account's name ----------------------------------------


def test_the_admins_history_keeps_neither_their_name_nor_their_text(world, alice, root):
    entry = world["accepted"]
    for obj in (entry, alice, world["draft"]):
        LogEntry.objects.create(
            user=root,
            content_type=ContentType.objects.get_for_model(obj),
            object_id=str(obj.pk),
            object_repr=str(obj),
            action_flag=CHANGE,
            change_message=f"Changed the {WORD} of {obj}.",
        )
    assert "LogEntry.object_repr" in traces(WORD)
    assert LogEntry.objects.filter(object_repr="alice").exists()

    services.person_erase(person=alice, actor=root)

    assert traces(WORD) == []
    assert set(LogEntry.objects.values_list("object_repr", "change_message")) == {("erased", "")}
    assert LogEntry.objects.filter(user=root).count() == 3  # who did what, when: kept


def test_an_account_named_like_an_erased_one_does_not_stop_the_erasure(alice, root):
    squatter = UserFactory(username=f"erased-{alice.pk}")
    services.person_erase(person=alice, actor=root)
    person = User.objects.get(pk=alice.pk)
    assert person.username.startswith(f"erased-{alice.pk}-")
    assert squatter.username != person.username
    # Each erasure's name is its own: a second account erased gets another.
    services.person_erase(person=squatter, actor=root)
    assert User.objects.filter(username__startswith="erased-").count() == 2


def test_sign_up_refuses_the_names_of_erased_accounts(client, settings):
    settings.FLOCK_SIGNUP_EMAIL_DOMAINS = ["acme.example"]
    settings.FLOCK_PASSWORD_SIGN_IN = True
    passphrase = "a-long-unusual-passphrase"
    answer = client.post(
        "/accounts/sign-up/",
        {
            "username": "Erased-5",
            "email": "mallory@acme.example",
            "password": passphrase,
            "password_again": passphrase,
        },
    )
    assert answer.status_code == 400
    page = answer.content.decode()
    assert "name erased accounts; choose another" in page and 'value="Erased-5"' in page
    assert not User.objects.filter(email="mallory@acme.example").exists()


def test_a_company_sign_in_never_takes_an_erased_accounts_name():
    """Company sign-in (services.oidc) picks its usernames with username_free."""
    from annotation.services.accounts import username_free

    assert username_free("erased-5") == "erased_5"
    assert username_free("alice") == "alice"


def test_only_that_moderators_overturn_notices_lose_their_quote(people, alice, bob, carol, root):
    mona = UserFactory(username="mona", is_staff=True)
    entry = submitted(alice, instruction="Name a red fruit.", response="A cherry.")
    approve(entry, bob)
    approve(entry, UserFactory(username="erin"))
    services.entry_overturn(entry=entry, moderator=carol, verdict="reject", reason=f"Not a {WORD}.")
    services.entry_overturn(
        entry=entry, moderator=mona, verdict="approve", reason="Fine after all."
    )
    notices = Notification.objects.filter(recipient=alice, kind=NotificationKind.ENTRY_OVERTURNED)
    assert notices.count() == 2

    services.person_erase(person=carol, actor=root)

    texts = sorted(notices.values_list("text", flat=True))
    assert [t.rsplit("Reason: ", 1)[1] for t in texts] == ["(erased)", "Fine after all."]
    assert "now rejected" in next(t for t in texts if t.endswith("(erased)"))
