"""Withdrawal and erasure carried into releases, end to end: the next snapshot leaves the entries
out (their text is nowhere in it) and its manifest lists them by reason."""

import gzip
import io
import json
import tarfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from annotation import services as annotation
from annotation.models import Decision, Entry, EntryStatus, FlagKind
from exports import services
from exports.models import Snapshot, SnapshotStatus
from tests.factories import EntryFactory, UserFactory

pytestmark = pytest.mark.django_db

WORD = "Quokkaflux"


def accepted(author, instruction: str) -> Entry:
    entry = EntryFactory(
        author=author,
        status=EntryStatus.ACCEPTED,
        instruction=instruction,
        response=f"An answer about {instruction.lower().rstrip('?')}.",
    )
    Decision.objects.create(entry=entry, round=1, outcome="accepted", approvals=2)
    return entry


def build() -> Snapshot:
    snapshot, _ = services.snapshot_request(user=None, options={}, start=False)
    snapshot = services.snapshot_build(snapshot_id=snapshot.pk, rescan=False)
    assert snapshot.status == SnapshotStatus.READY, snapshot.error
    return snapshot


def read(storage: Path, snapshot: Snapshot, name: str) -> bytes:
    return (storage / snapshot.directory / name).read_bytes()


def decoded(name: str, data: bytes) -> str:
    """A file's content as text, decoded as its kind is read: Parquet through its reader (its
    pages are compressed: raw bytes would hide a text), archives member by member, the rest
    (README.md, manifest.json, the .jsonl files) as UTF-8."""
    if name.endswith(".parquet"):
        rows = pq.read_table(io.BytesIO(data)).to_pylist()
        return json.dumps(rows, default=str, ensure_ascii=False)
    if name.endswith((".tar", ".tar.gz", ".tgz")):
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            return "\n".join(
                f"{member.name}\n{decoded(member.name, archive.extractfile(member).read())}"
                for member in archive.getmembers()
                if member.isfile()
            )
    if name.endswith(".gz"):
        return decoded(name.removesuffix(".gz"), gzip.decompress(data))
    return data.decode("utf-8")


def every_text(storage: Path, snapshot: Snapshot) -> dict[str, str]:
    """Every file the snapshot lists (and its archives, if kept), decoded: name -> text."""
    folder = storage / snapshot.directory
    names = [item["name"] for item in snapshot.files]
    names += [a["name"] for a in (snapshot.archive, snapshot.archive_gz) if a and a.get("name")]
    return {
        name: decoded(name, (folder / name).read_bytes())
        for name in names
        if (folder / name).is_file()
    }


@pytest.fixture
def release(db):
    """The first release holds a withdrawn-to-be, an erased-to-be and a moderated-to-be entry,
    and one that stays."""
    alice, bob, carol = (
        UserFactory(username="alice"),
        UserFactory(username="bob"),
        UserFactory(username="carol", is_staff=True),
    )
    entries = {
        "withdrawn": accepted(alice, f"Where does the {WORD} sleep?"),
        "erased": accepted(bob, f"What does the {WORD} eat?"),
        "moderated": accepted(alice, "Which planet is the largest?"),
        "kept": accepted(alice, "Why is the sea salty?"),
    }
    first = build()
    return {"people": (alice, bob, carol), "entries": entries, "first": first}


def test_the_next_snapshot_has_no_text_of_withdrawn_or_erased_entries(release, snapshot_storage):
    alice, bob, _ = release["people"]
    entries = release["entries"]
    assert WORD.encode() in read(snapshot_storage, release["first"], "data.jsonl")
    before = every_text(snapshot_storage, release["first"])  # the reading finds it, Parquet too
    assert any(WORD in text for name, text in before.items() if name.endswith(".parquet"))

    annotation.entry_release_withdraw(entry=entries["withdrawn"], actor=alice)
    annotation.person_erase(person=bob, actor=bob)
    second = build()

    lines = read(snapshot_storage, second, "data.jsonl").decode().splitlines()
    instructions = [json.loads(line)["instruction"] for line in lines]
    assert sorted(instructions) == sorted(
        [entries["moderated"].instruction, entries["kept"].instruction]
    )
    texts = every_text(snapshot_storage, second)
    assert {"README.md", "manifest.json", "data.jsonl"} <= set(texts)
    # metadata.parquet, where the layout writes it (exports/services/snapshots/metadata.py),
    # is read through its reader like every Parquet file.
    listed = {item["name"] for item in second.files}
    assert "metadata.parquet" not in listed or "metadata.parquet" in texts
    for name, text in texts.items():
        for trace in (WORD, "bob", "bob@example.com"):  # her words, his username and address
            assert trace.casefold() not in text.casefold(), (name, trace)


def test_the_manifest_lists_the_removed_ids_by_reason(release, snapshot_storage):
    """Needs the manifest's `removals` (issue 15, exports side)."""
    alice, bob, carol = release["people"]
    entries = release["entries"]
    annotation.entry_release_withdraw(entry=entries["withdrawn"], actor=alice)
    annotation.person_erase(person=bob, actor=bob)
    annotation.flag_raise_by_hand(
        entry=entries["moderated"], moderator=carol, kind=FlagKind.MODERATOR, note="Off topic."
    )
    second = build()

    manifest = json.loads(read(snapshot_storage, second, "manifest.json"))
    assert manifest["removals"] == {
        "withdrawn": [entries["withdrawn"].pk],
        "erased": [entries["erased"].pk],
        "moderated": [entries["moderated"].pk],
    }
    # A third snapshot removes nothing more: the removals are the parent's difference only.
    third = build()
    again = json.loads(read(snapshot_storage, third, "manifest.json"))
    assert again["removals"] == {"withdrawn": [], "erased": [], "moderated": []}
