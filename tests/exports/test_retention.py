"""Nightly snapshots that respect disk: the nightly job skips a day when nothing exportable
changed, the retention rule (FLOCK_NIGHTLY_KEEP) prunes old nightly snapshots but never one a
person built or pinned, and pinning is for data scientists and staff."""

import datetime
import hashlib
import logging

import pytest
from rest_framework.test import APIClient

from annotation import services as annotation
from annotation.models import (
    ContributorAgreement,
    Decision,
    Entry,
    EntryStatus,
    ReleaseRemoval,
    Review,
    Source,
)
from config.errors import ActionForbidden, StateConflict
from exports import services, tasks
from exports.models import Snapshot, SnapshotOrigin, SnapshotStatus
from exports.services.snapshots import build as building
from exports.services.snapshots import diff, retention
from tests.factories import EntryFactory, UserFactory, accepted_entry

pytestmark = pytest.mark.django_db

NIGHT = datetime.datetime(2026, 3, 2, 4, 0, tzinfo=datetime.UTC)


@pytest.fixture
def night(time_machine, settings):
    """The clock at 04:00 on night `n` (1, 2, …); nightly request keys use the local date."""
    settings.TIME_ZONE = "UTC"

    def move(n: int) -> None:
        time_machine.move_to(NIGHT + datetime.timedelta(days=n - 1))

    move(1)
    return move


@pytest.fixture
def writer(night):
    """Agreed on the first night, before writing anything (the licensing check holds back what
    was written before its author's agreement)."""
    ContributorAgreement.objects.update(published_at=NIGHT - datetime.timedelta(days=30))
    user = UserFactory(username="writer")
    annotation.agreement_accept(user=user)
    return user


accepted = accepted_entry


def nightly() -> services.Nightly:
    """The nightly job's service, then the build it asked for (as the worker would run it)."""
    result = services.snapshot_nightly()
    if not result.skipped:
        built = services.snapshot_build(snapshot_id=result.snapshot.pk, rescan=False)
        assert built.status == SnapshotStatus.READY, built.error
        result.snapshot.refresh_from_db()
    return result


def built_by(user) -> Snapshot:
    snapshot, _ = services.snapshot_request(user=user, start=False, origin=SnapshotOrigin.API)
    return services.snapshot_build(snapshot_id=snapshot.pk, rescan=False)


def on_disk(storage_dir, snapshot) -> list[str]:
    folder = storage_dir / snapshot.directory
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


# --- The nightly skip ------------------------------------------------------------------------


def test_the_nightly_job_skips_a_day_when_nothing_exportable_changed(writer, night, caplog):
    accepted(writer, instruction="Which river runs through Vienna?")
    night(1)
    first = nightly()
    assert not first.skipped and first.snapshot.version == 1

    # The same night again, and the next night: nothing changed, nothing is asked for.
    again = services.snapshot_nightly()
    assert again.skipped and again.unchanged.pk == first.snapshot.pk
    night(2)
    with caplog.at_level(logging.INFO, logger="exports.services.snapshots.requests"):
        assert services.snapshot_nightly().skipped
    assert "nothing exportable changed since v1" in caplog.text
    assert Snapshot.objects.count() == 1
    # The task says so, naming the snapshot that already holds it all.
    assert tasks.snapshot_nightly() == {"skipped": True, "unchanged_since": 1}

    # A newly accepted entry: the night's snapshot is asked for, once.
    night(3)
    accepted(writer, instruction="Which sea does the Danube reach?")
    third = nightly()
    assert not third.skipped and third.snapshot.version == 2
    assert third.snapshot.request_key == "system:nightly-2026-03-04"
    assert third.snapshot.record_count == 2
    assert Snapshot.objects.count() == 2


def test_a_snapshot_a_person_built_counts_as_the_last_one(writer, dana, night):
    accepted(writer, instruction="Who painted the Kiss?")
    night(1)
    by_dana = built_by(dana)
    skipped = services.snapshot_nightly()
    assert skipped.skipped and skipped.unchanged == by_dana
    # A subset a person built is not the whole data set: it never stands in for it.
    accepted(writer, instruction="Who wrote the Magic Flute?")
    subset, _ = services.snapshot_request(user=dana, options={"min_approvals": 1}, start=False)
    services.snapshot_build(snapshot_id=subset.pk, rescan=False)
    assert not services.snapshot_nightly().skipped


def test_a_parent_of_an_older_layout_is_never_unchanged(writer, night):
    accepted(writer, instruction="What is the capital of Styria?")
    night(1)
    first = nightly().snapshot
    Snapshot.objects.filter(pk=first.pk).update(layout=building.LAYOUT - 1)  # older files
    night(2)
    second = nightly()
    assert not second.skipped
    assert second.snapshot.layout == building.LAYOUT
    assert second.snapshot.changes == {"added": 0, "removed": 0, "changed": 0}  # same records
    night(3)
    assert services.snapshot_nightly().skipped  # and now it is the current layout


def test_a_withdrawal_alone_is_a_change(writer, night):
    kept = accepted(writer, instruction="Kept?")
    gone = accepted(writer, instruction="Withdrawn?")
    night(1)
    nightly()
    ReleaseRemoval.objects.create(entry=gone, reason="withdrawn", requested_by=writer)
    night(2)
    second = nightly()
    assert not second.skipped
    assert second.snapshot.removals == {"withdrawn": [gone.pk], "erased": [], "moderated": []}
    assert (
        second.snapshot.record_count == 1 and kept.pk not in second.snapshot.removals["moderated"]
    )


def test_the_rescan_runs_before_the_comparison(writer, night):
    """A copy accepted since is flagged by the rescan the nightly job runs first: it is not
    exportable, so nothing exportable changed."""
    original = accepted(writer, instruction="Which colours are primary?", response="Red, blue.")
    night(1)
    nightly()
    accepted(writer, instruction=original.instruction, response=original.response)
    night(2)
    assert services.snapshot_nightly().skipped
    assert Snapshot.objects.count() == 1


def _released_files_change(change, writer, night, settings):
    """A first nightly, `change` (which leaves every record as it was), then the next night's:
    the nightly job builds again, with the same records and another metadata digest; and a
    third night without a change is skipped."""
    night(1)
    first = nightly().snapshot
    change()
    night(2)
    second = nightly()
    assert not second.skipped, "a change to the released files was skipped"
    assert second.snapshot.changes == {"added": 0, "removed": 0, "changed": 0}
    assert second.snapshot.stats["metadata_digest"] != first.stats["metadata_digest"]
    night(3)
    assert services.snapshot_nightly().skipped


def test_the_accepting_rounds_approvals_are_a_change(writer, night, settings):
    entry = accepted(writer, instruction="Which river runs through Budapest?")
    _released_files_change(
        lambda: Decision.objects.filter(entry=entry).update(approvals=3), writer, night, settings
    )


def test_a_reviews_rating_is_a_change(writer, night, settings):
    entry = accepted(writer, instruction="Which river runs through Prague?")
    reviewer = UserFactory(username="reviewer")
    review = Review.objects.create(
        entry=entry, reviewer=reviewer, round=1, verdict="approve", rating=4
    )
    _released_files_change(
        lambda: Review.objects.filter(pk=review.pk).update(rating=2), writer, night, settings
    )


def test_a_passages_source_url_is_a_change(writer, night, settings):
    settings.FLOCK_ALLOWED_SOURCE_DOMAINS = ["wikipedia.org", "britannica.com"]
    entry = accepted(
        writer,
        instruction="How long is the Danube?",
        context="The Danube is 2,850 km long.",
        source_url="https://en.wikipedia.org/wiki/Danube",
    )
    _released_files_change(
        lambda: Entry.objects.filter(pk=entry.pk).update(
            source_url="https://www.britannica.com/place/Danube-River"
        ),
        writer,
        night,
        settings,
    )


def test_an_imported_sources_licence_is_a_change(writer, night, settings):
    source = Source.objects.create(name="dolly-15k", license="cc-by-sa-3.0")
    EntryFactory(author=None, source=source, status=EntryStatus.ACCEPTED)
    _released_files_change(
        lambda: Source.objects.filter(pk=source.pk).update(license="cc-by-3.0"),
        writer,
        night,
        settings,
    )


def test_the_pseudonym_secret_is_a_change(writer, night, settings):
    accepted(writer, instruction="Where does the Rhine rise?")

    def new_secret():
        settings.FLOCK_PSEUDONYM_SECRET = "another secret, after a leak"

    _released_files_change(new_secret, writer, night, settings)


def test_a_new_data_set_name_on_the_card_is_released(writer, night, settings):
    accepted(writer, instruction="Where does the Oder rise?")

    def renamed():
        settings.FLOCK_DATASET_NAME = "acme-instructions"

    _released_files_change(renamed, writer, night, settings)


def test_a_parent_without_a_metadata_digest_is_never_unchanged(writer, night):
    accepted(writer, instruction="Where does the Elbe rise?")
    night(1)
    first = nightly().snapshot
    stats = {k: v for k, v in first.stats.items() if k != "metadata_digest"}
    Snapshot.objects.filter(pk=first.pk).update(stats=stats)  # built before it was stored
    night(2)
    assert not nightly().skipped
    night(3)
    assert services.snapshot_nightly().skipped


def test_the_metadata_digest_is_the_one_the_build_stored(writer, night):
    """The nightly job's digests are the build's, computed by the same code (a chunk boundary
    crossed, an imported record, a passage)."""
    source = Source.objects.create(name="squad", license="cc-by-sa-4.0", url="https://x.org/")
    EntryFactory(author=None, source=source, status=EntryStatus.ACCEPTED)
    accepted(writer, context="A passage.", source_url="https://en.wikipedia.org/wiki/Rhine")
    accepted(writer)
    night(1)
    first = nightly().snapshot
    expected = diff.exportable_digests(options=services.SnapshotOptions())
    assert expected.metadata_digest == first.stats["metadata_digest"]
    assert expected.digest == bytes(first.digest)
    assert expected.same_as(first)


# --- The retention rule ----------------------------------------------------------------------


def test_the_retention_rule_keeps_the_newest_nightlies_and_every_pinned_or_personal_one(
    writer, dana, night, settings, snapshot_storage
):
    settings.FLOCK_NIGHTLY_KEEP = 2
    versions = {}
    for n in range(1, 5):
        night(n)
        accepted(writer, instruction=f"Question of night {n}?")
        versions[n] = nightly().snapshot.version
        if n == 1:  # the oldest nightly, pinned: kept whatever its age
            services.snapshot_pin(
                snapshot=Snapshot.objects.get(version=versions[1]), user=dana, pinned=True
            )
    accepted(writer, instruction="Dana's question?")
    person = built_by(dana)  # never pruned, and builds by people prune nothing
    night(5)
    accepted(writer, instruction="Question of night 5?")
    versions[5] = nightly().snapshot.version

    status = dict(Snapshot.objects.values_list("version", "status"))
    pruned = [versions[2], versions[3]]
    assert status == {
        versions[1]: SnapshotStatus.READY,
        versions[2]: SnapshotStatus.PRUNED,
        versions[3]: SnapshotStatus.PRUNED,
        versions[4]: SnapshotStatus.READY,
        person.version: SnapshotStatus.READY,
        versions[5]: SnapshotStatus.READY,
    }
    snapshots = {s.version: s for s in Snapshot.objects.all()}
    # v2, pruned last night, lost its files tonight; v3, pruned tonight, keeps them for now
    # (downloads begun before tonight's run can finish), though none is offered any more.
    assert not (snapshot_storage / snapshots[versions[2]].directory).exists()
    assert on_disk(snapshot_storage, snapshots[versions[3]])
    for version in pruned:  # the row stays
        assert snapshots[version].record_count > 0 and snapshots[version].files
        assert snapshots[version].file("data.jsonl") is None
    assert retention.FILES_DELETED_AT in snapshots[versions[2]].stats
    assert retention.FILES_DELETED_AT not in snapshots[versions[3]].stats
    # The next night (any run PRUNE_GRACE later), its files go too (data/ and the archives).
    night(6)
    assert services.snapshots_prune() == []
    assert not (snapshot_storage / snapshots[versions[3]].directory).exists()
    for version in (versions[1], versions[4], person.version, versions[5]):
        snapshot = snapshots[version]
        folder = snapshot_storage / snapshot.directory
        for item in snapshot.files:
            data = (folder / item["name"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == item["sha256"], (version, item["name"])

    # Pruning again changes nothing.
    before = {s.version: on_disk(snapshot_storage, s) for s in snapshots.values()}
    assert services.snapshots_prune() == []
    assert dict(Snapshot.objects.values_list("version", "status")) == status
    assert {s.version: on_disk(snapshot_storage, s) for s in snapshots.values()} == before
    # A pruned snapshot is still its line's history: the next card's changelog and its parent.
    assert snapshots[versions[3]].parent_id == snapshots[versions[2]].pk


def test_keep_zero_keeps_every_nightly(writer, night, settings, snapshot_storage):
    settings.FLOCK_NIGHTLY_KEEP = 0
    for n in range(1, 4):
        night(n)
        accepted(writer, instruction=f"Question {n}?")
        nightly()
    assert set(Snapshot.objects.values_list("status", flat=True)) == {SnapshotStatus.READY}
    assert services.snapshots_prune() == []


def test_pruning_finishes_what_an_interrupted_run_left(writer, night, settings, snapshot_storage):
    settings.FLOCK_NIGHTLY_KEEP = 1
    night(1)
    accepted(writer, instruction="First?")
    first = nightly().snapshot
    # Pruned long ago, but its files still there (the process stopped between the two steps).
    Snapshot.objects.filter(pk=first.pk).update(status=SnapshotStatus.PRUNED)
    assert on_disk(snapshot_storage, first)
    assert services.snapshots_prune() == []
    assert not (snapshot_storage / first.directory).exists()


def test_a_pruned_snapshots_files_outlive_its_marking_by_the_grace(
    writer, dana, night, settings, snapshot_storage, time_machine, monkeypatch
):
    """Downloads 404 as soon as a snapshot is pruned; its files go only on a run that starts
    PRUNE_GRACE after or later (a tar streaming its members one by one can finish), and once
    they are gone no run looks at its storage again."""
    settings.FLOCK_NIGHTLY_KEEP = 1
    for n in (1, 2):
        night(n)
        accepted(writer, instruction=f"Question {n}?")
        nightly()
    old = Snapshot.objects.get(version=1)
    assert old.status == SnapshotStatus.PRUNED and retention.PRUNED_AT in old.stats
    client = APIClient()
    client.force_authenticate(dana)
    assert client.get(f"/api/v1/snapshots/{old.pk}/files/data.jsonl").status_code == 404
    assert on_disk(snapshot_storage, old)  # still there, for a download already streaming

    time_machine.shift(retention.PRUNE_GRACE - datetime.timedelta(minutes=1))
    services.snapshots_prune()
    assert on_disk(snapshot_storage, old)
    time_machine.shift(datetime.timedelta(minutes=2))
    services.snapshots_prune()
    assert not (snapshot_storage / old.directory).exists()
    old.refresh_from_db()
    assert retention.FILES_DELETED_AT in old.stats

    looked_at = []
    monkeypatch.setattr(
        retention, "_tree_delete", lambda storage, directory: looked_at.append(directory) or 0
    )
    services.snapshots_prune()
    assert looked_at == []  # done: its storage is not listed again


def test_a_failing_retention_rule_never_fails_the_build(writer, night, settings, monkeypatch):
    settings.FLOCK_NIGHTLY_KEEP = 1

    def broken(**kwargs):
        raise OSError("the storage is away")

    monkeypatch.setattr(retention, "snapshots_prune", broken)
    for n in (1, 2):
        night(n)
        accepted(writer, instruction=f"Question {n}?")
        nightly()  # asserts each build is ready
    assert Snapshot.objects.filter(status=SnapshotStatus.PRUNED).count() == 0


def test_a_pruned_snapshot_says_why_its_files_are_gone(writer, dana, night, settings):
    settings.FLOCK_NIGHTLY_KEEP = 1
    for n in (1, 2):
        night(n)
        accepted(writer, instruction=f"Question {n}?")
        nightly()
    old = Snapshot.objects.get(version=1)
    assert old.status == SnapshotStatus.PRUNED
    client = APIClient()
    client.force_authenticate(dana)
    for name in ("data.jsonl", "manifest.json", old.archive["name"]):
        response = client.get(f"/api/v1/snapshots/{old.pk}/files/{name}")
        assert response.status_code == 404
        assert "removed by the retention rule" in response.json()["detail"]
    body = client.get(f"/api/v1/snapshots/{old.pk}/").json()
    assert body["status"] == "pruned" and body["files"] == [] and body["pinned"] is False

    client.force_login(dana)
    assert client.get(f"/exports/{old.pk}/files/data.jsonl").status_code == 404
    page = client.get(f"/exports/{old.pk}/").content.decode()
    assert "Files removed by the retention rule" in page
    assert "its files were removed by the retention rule" in page
    assert 'name="pinned" value="true"' not in page  # no Pin button on a pruned snapshot
    listing = client.get("/exports/").content.decode()
    assert "Files removed by the retention rule" in listing


# --- Pinning ---------------------------------------------------------------------------------


@pytest.fixture
def ready(writer, night) -> Snapshot:
    night(1)
    accepted(writer, instruction="Pinned question?")
    return nightly().snapshot


def test_only_data_scientists_and_staff_pin(ready, alice, dana, carol):
    with pytest.raises(ActionForbidden):
        services.snapshot_pin(snapshot=ready, user=alice, pinned=True)
    ready.refresh_from_db()
    assert not ready.pinned
    pinned = services.snapshot_pin(snapshot=ready, user=dana, pinned=True)
    assert pinned.pinned and pinned.pinned_by == dana
    # Pinning again keeps who pinned it first; staff unpin.
    assert services.snapshot_pin(snapshot=ready, user=carol, pinned=True).pinned_by == dana
    unpinned = services.snapshot_pin(snapshot=ready, user=carol, pinned=False)
    assert not unpinned.pinned and unpinned.pinned_by is None


def test_only_a_ready_snapshot_can_be_pinned(ready, dana):
    for status in (SnapshotStatus.PRUNED, SnapshotStatus.FAILED, SnapshotStatus.PENDING):
        Snapshot.objects.filter(pk=ready.pk).update(status=status)
        with pytest.raises(StateConflict, match=f"can be pinned; v1 is {status}"):
            services.snapshot_pin(snapshot=ready, user=dana, pinned=True)
        assert not Snapshot.objects.get(pk=ready.pk).pinned
    # Unpinning is allowed whatever the status.
    Snapshot.objects.filter(pk=ready.pk).update(pinned=True, pinned_by=dana)
    assert not services.snapshot_pin(snapshot=ready, user=dana, pinned=False).pinned


def test_the_page_pins_and_unpins(client, ready, alice, dana):
    client.force_login(alice)
    assert client.post(f"/exports/{ready.pk}/pin/", {"pinned": "true"}).status_code == 403
    assert not Snapshot.objects.get(pk=ready.pk).pinned

    client.force_login(dana)
    page = client.get(f"/exports/{ready.pk}/").content.decode()
    assert f'action="/exports/{ready.pk}/pin/"' in page and 'value="true"' in page
    assert "csrfmiddlewaretoken" in page
    response = client.post(f"/exports/{ready.pk}/pin/", {"pinned": "true"})
    assert response.status_code == 302 and response["Location"] == f"/exports/{ready.pk}/"
    assert Snapshot.objects.get(pk=ready.pk).pinned_by == dana
    page = client.get(f"/exports/{ready.pk}/").content.decode()
    assert "Pinned by dana" in page and "Unpin" in page
    assert client.get(f"/exports/{ready.pk}/pin/").status_code == 405  # POST only
    client.post(f"/exports/{ready.pk}/pin/", {"pinned": "false"})
    assert not Snapshot.objects.get(pk=ready.pk).pinned

    # A pruned one: the refusal is said on its page, not a 500.
    Snapshot.objects.filter(pk=ready.pk).update(status=SnapshotStatus.PRUNED)
    response = client.post(f"/exports/{ready.pk}/pin/", {"pinned": "true"}, follow=True)
    assert "Only a ready snapshot can be pinned" in response.content.decode()
    assert client.post("/exports/999/pin/", {"pinned": "true"}).status_code == 404


def test_the_api_pins_and_unpins(ready, alice, dana, carol):
    anonymous = APIClient()
    assert anonymous.post(f"/api/v1/snapshots/{ready.pk}/pin/").status_code in (401, 403)
    client = APIClient()
    client.force_authenticate(alice)
    assert client.post(f"/api/v1/snapshots/{ready.pk}/pin/").status_code == 403
    assert client.delete(f"/api/v1/snapshots/{ready.pk}/pin/").status_code == 403

    client.force_authenticate(dana)
    response = client.post(f"/api/v1/snapshots/{ready.pk}/pin/")
    assert response.status_code == 200
    assert response.json()["pinned"] is True and response.json()["pinned_by"] == "dana"
    assert client.get(f"/api/v1/snapshots/{ready.pk}/").json()["pinned"] is True

    client.force_authenticate(carol)
    response = client.delete(f"/api/v1/snapshots/{ready.pk}/pin/")
    assert response.status_code == 200 and response.json()["pinned"] is False
    assert client.post("/api/v1/snapshots/999/pin/").status_code == 404

    Snapshot.objects.filter(pk=ready.pk).update(status=SnapshotStatus.PRUNED)
    response = client.post(f"/api/v1/snapshots/{ready.pk}/pin/")
    assert response.status_code == 409
    assert "Only a ready snapshot can be pinned" in response.json()["detail"]
    assert client.delete(f"/api/v1/snapshots/{ready.pk}/pin/").status_code == 200


def test_a_nightly_is_one_the_schedule_asked_for_and_no_person(writer, dana, night, settings):
    """Snapshot.is_nightly, the rule the retention rule and the page share."""
    settings.FLOCK_NIGHTLY_KEEP = 1
    accepted(writer, instruction="Asked for by the schedule?")
    night(1)
    scheduled = nightly().snapshot
    assert scheduled.is_nightly
    # A person's snapshot is never a nightly, whatever its origin says.
    accepted(writer, instruction="Asked for by Dana?")
    personal = built_by(dana)
    Snapshot.objects.filter(pk=personal.pk).update(origin=SnapshotOrigin.SCHEDULE)
    personal.refresh_from_db()
    assert not personal.is_nightly
    client = APIClient()
    client.force_login(dana)
    page = client.get(f"/exports/{personal.pk}/").content.decode()
    assert "The retention rule never prunes a snapshot a person built" in page
    page = client.get(f"/exports/{scheduled.pk}/").content.decode()
    assert "A nightly snapshot: the retention rule keeps only the newest ones" in page
    night(2)
    accepted(writer, instruction="The next night's?")
    nightly()
    assert Snapshot.objects.get(pk=personal.pk).status == SnapshotStatus.READY
    assert Snapshot.objects.get(pk=scheduled.pk).status == SnapshotStatus.PRUNED


def test_a_skipped_night_still_deletes_what_was_pruned_the_night_before(
    writer, night, settings, snapshot_storage
):
    settings.FLOCK_NIGHTLY_KEEP = 1
    for n in (1, 2):
        night(n)
        accepted(writer, instruction=f"Question {n}?")
        nightly()
    old = Snapshot.objects.get(version=1)
    assert old.status == SnapshotStatus.PRUNED and on_disk(snapshot_storage, old)
    night(3)
    assert services.snapshot_nightly().skipped  # nothing changed
    assert not (snapshot_storage / old.directory).exists()
