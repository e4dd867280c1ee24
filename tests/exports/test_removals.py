"""Removals carried into releases: the next snapshot's manifest lists each removed record with
its reason (withdrawn, erased, moderated), its card keeps a changelog since the first release of
its line, and the data leaves them out."""

import datetime
import json
import re
from pathlib import Path

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from annotation import services as annotation
from annotation.models import Entry, EntryStatus, FlagKind, ReleaseRemoval
from exports import selectors
from exports.models import Snapshot, SnapshotStatus
from tests.factories import UserFactory, accepted_entry, category, snapshot_built

pytestmark = pytest.mark.django_db

DAY = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture
def writer(db):
    user = UserFactory(username="writer")
    annotation.agreement_accept(user=user)
    return user


accepted = accepted_entry


build = snapshot_built


def read(storage_dir: Path, snapshot: Snapshot, name: str) -> str:
    return (storage_dir / snapshot.directory / name).read_text()


def withdraw(entry, reason="withdrawn"):
    ReleaseRemoval.objects.create(entry=entry, reason=reason, requested_by=entry.author)


def exported_instructions(storage_dir, snapshot) -> set[str]:
    """Every record's instruction, in data.jsonl and in any Parquet file the snapshot has."""
    lines = read(storage_dir, snapshot, "data.jsonl").splitlines()
    found = {json.loads(line)["instruction"] for line in lines}
    for item in snapshot.files:
        if item["name"].endswith(".parquet") and "metadata" not in item["name"]:
            import pandas

            frame = pandas.read_parquet(storage_dir / snapshot.directory / item["name"])
            found |= set(frame["instruction"])
    return found


def test_the_next_manifest_and_card_list_each_removal_with_its_reason(
    writer, carol, dana, snapshot_storage, time_machine
):
    time_machine.move_to(DAY)
    kept = accepted(writer, instruction="Which river runs through Vienna?")
    withdrawn = accepted(writer, instruction="What did I regret writing?")
    erased = accepted(writer, instruction="What did the leaver write?")
    overturned = accepted(writer, instruction="Which answer was wrong after all?")
    flagged = accepted(writer, instruction="Which one had a customer's phone number?")
    first = build()
    assert first.record_count == 5
    assert first.removals == {"withdrawn": [], "erased": [], "moderated": []}
    card = read(snapshot_storage, first, "README.md")
    assert "## Changelog" in card
    assert "No record has been removed since the first release with these filters." in card

    time_machine.move_to(DAY + datetime.timedelta(days=3))
    withdraw(withdrawn)
    withdraw(erased, reason="erased")
    annotation.entry_overturn(
        entry=overturned, moderator=carol, verdict="reject", reason="The dates are wrong."
    )
    flag = annotation.flag_raise_by_hand(
        entry=flagged, moderator=carol, kind=FlagKind.MODERATOR, note="A customer's number."
    )
    annotation.flag_resolve(flag=flag, moderator=carol, action="confirm", note="Real.")
    second = build()

    expected = {
        "withdrawn": [withdrawn.pk],
        "erased": [erased.pk],
        "moderated": sorted([overturned.pk, flagged.pk]),
    }
    assert second.removals == expected
    assert second.changes == {"added": 0, "removed": 4, "changed": 0}
    text = read(snapshot_storage, second, "manifest.json")
    manifest = json.loads(text)
    assert manifest["removals"] == expected
    assert manifest["changes"]["removed"] == sorted(
        [withdrawn.pk, erased.pk, overturned.pk, flagged.pk]
    )
    # Id lists on one line each, as "changes" has them.
    assert f'"moderated": [{",".join(str(pk) for pk in expected["moderated"])}]' in text
    # The data leaves them out; the one kept stays.
    assert exported_instructions(snapshot_storage, second) == {kept.instruction}

    card = read(snapshot_storage, second, "README.md")
    changelog = card[card.index("## Changelog") :]
    assert "| version | date | removed | withdrawn | erased | moderated |" in changelog
    assert "| v2 | 2026-03-05 | 4 | 1 | 1 | 2 |" in changelog
    assert "| v1 |" not in changelog  # it removed nothing
    assert "Moderated: a moderator overturned or reopened" in changelog

    # The page and the API say how many went, by reason.
    client = APIClient()
    client.force_authenticate(dana)
    body = client.get(f"/api/v1/snapshots/{second.pk}/").json()
    assert body["removals"] == {"withdrawn": 1, "erased": 1, "moderated": 2}
    client.force_login(dana)
    page = client.get(f"/exports/{second.pk}/").content.decode()
    assert "4 removed (1 withdrawn, 1 erased, 2 moderated)" in page


def test_the_card_changelog_covers_every_version_of_its_line(
    writer, snapshot_storage, time_machine
):
    entries = [accepted(writer, instruction=f"Question {n} about rivers?") for n in range(6)]
    closed = accepted(writer, instruction="A closed question?", category=category("closed_qa"))
    time_machine.move_to(DAY)
    build()  # v1: the first release of the whole data set

    time_machine.move_to(DAY + datetime.timedelta(days=1))
    withdraw(entries[0])
    withdraw(entries[1])
    v2 = build()
    # A snapshot of another line (other filters) is not in this line's changelog.
    withdraw(closed)
    build(categories=["open_qa", "closed_qa"], min_approvals=1)
    time_machine.move_to(DAY + datetime.timedelta(days=2))
    v4 = build()  # only the closed question went since v2 (v3, of another line, never held it)
    time_machine.move_to(DAY + datetime.timedelta(days=3))
    build()  # v5: nothing removed
    # A pruned snapshot keeps its row, and its place in the changelog.
    Snapshot.objects.filter(pk=v2.pk).update(status=SnapshotStatus.PRUNED)

    time_machine.move_to(DAY + datetime.timedelta(days=9))
    withdraw(entries[2], reason="erased")
    Entry.objects.filter(pk=entries[3].pk).update(status=EntryStatus.SUBMITTED)  # reopened
    v6 = build(validation_percent=10)  # a split: the same line (the same records)
    assert v6.parent_id == Snapshot.objects.get(version=5).pk

    card = read(snapshot_storage, v6, "README.md")
    changelog = card[card.index("## Changelog") :]
    rows = [line for line in changelog.splitlines() if re.match(r"\| v\d", line)]
    assert rows == [
        "| v2 | 2026-03-03 | 2 | 2 | 0 | 0 |",
        "| v4 | 2026-03-04 | 1 | 1 | 0 | 0 |",
        "| v6 | 2026-03-11 | 2 | 0 | 1 | 1 |",
    ]
    assert v4.removals == {"withdrawn": [closed.pk], "erased": [], "moderated": []}
    assert "| v3 |" not in changelog and "| v5 |" not in changelog


def test_a_snapshot_built_before_removals_were_classed_shows_its_count_only(
    writer, snapshot_storage, time_machine
):
    time_machine.move_to(DAY)
    gone = accepted(writer, instruction="Gone before this was kept?")
    accepted(writer, instruction="Still here?")
    build()
    withdraw(gone)
    old = build()
    Snapshot.objects.filter(pk=old.pk).update(removals={})  # as rows built before it have it
    accepted(writer, instruction="New?")
    newest = build()
    card = read(snapshot_storage, newest, "README.md")
    assert "| v2 | 2026-03-02 | 1 | — | — | — |" in card
    assert "| v3 |" not in card
    assert Snapshot.objects.get(pk=newest.pk).removals == {
        "withdrawn": [],
        "erased": [],
        "moderated": [],
    }


def test_the_nightly_changelog_dates_are_local_dates(writer, snapshot_storage, settings):
    settings.TIME_ZONE = "Pacific/Auckland"  # already 3 March there at 20:00 UTC on the 2nd
    started = timezone.make_aware(datetime.datetime(2026, 3, 2, 20, 0), datetime.UTC)
    gone = accepted(writer, instruction="Withdrawn late in the day?")
    accepted(writer, instruction="Kept?")
    build()
    withdraw(gone)
    second = build()
    Snapshot.objects.filter(pk=second.pk).update(started_at=started)
    accepted(writer, instruction="Another?")
    third = build()
    assert "| v2 | 2026-03-03 | 1 | 1 | 0 | 0 |" in read(snapshot_storage, third, "README.md")


def test_the_lists_count_removals_without_loading_their_ids(writer, dana, snapshot_storage):
    """The list selector leaves the removed ids (and the digests) out; the API and the pages
    show counts the database made (an older snapshot's, built before: none)."""
    gone = accepted(writer, instruction="Withdrawn from the next one?")
    accepted(writer, instruction="Kept?")
    old = build()
    withdraw(gone)
    second = build()
    Snapshot.objects.filter(pk=old.pk).update(removals={})  # as rows built before it have it
    listed = {s.pk: s for s in selectors.snapshot_list()}
    assert {"removals", "digest"} <= listed[second.pk].get_deferred_fields()
    assert listed[second.pk].removed_by_reason == {"withdrawn": 1, "erased": 0, "moderated": 0}

    client = APIClient()
    client.force_authenticate(dana)
    rows = client.get("/api/v1/snapshots/").json()
    rows = rows["results"] if isinstance(rows, dict) else rows
    removals = {row["id"]: row["removals"] for row in rows}
    assert removals == {second.pk: {"withdrawn": 1, "erased": 0, "moderated": 0}, old.pk: {}}
    client.force_login(dana)
    page = client.get(f"/exports/{second.pk}/").content.decode()
    assert "1 removed (1 withdrawn, 0 erased, 0 moderated)" in page
