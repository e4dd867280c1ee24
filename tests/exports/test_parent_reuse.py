"""A build copies from its parent the records whose database text is unchanged (issue 16: the
snapshot job after 1% changed): only changed and new entries' text is read, the files come out
exactly as a build that reads everything writes them, a change nobody dated (an UPDATE in psql)
is still seen, and a parent whose files are not what it stored is not copied from."""

import json
import logging

import pandas as pd
import pytest
from django.db import connection
from django.utils import timezone

from annotation import services as annotation
from annotation.models import Entry, EntryStatus, Source
from exports import selectors
from exports.models import Snapshot
from exports.services.snapshots import SnapshotOptions, diff, parent, rows
from tests.factories import EntryFactory, UserFactory, accepted_entry, category, snapshot_built

pytestmark = pytest.mark.django_db

build = snapshot_built


@pytest.fixture
def writer(db):
    user = UserFactory(username="writer")
    annotation.agreement_accept(user=user)
    return user


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 4 rows, changed text read for two chunks at once and data.jsonl 50 bytes at a
    time: records copied across chunk, group and block boundaries."""
    monkeypatch.setattr(rows, "CHUNK_ROWS", 4)
    monkeypatch.setattr(rows, "FETCH_ROWS", 8)  # changed text read two chunks at a time
    monkeypatch.setattr(diff, "CHUNK_ROWS", 4)
    monkeypatch.setattr(parent, "LINES_BLOCK", 50)  # the parent's lines cut across its blocks


def corpus(writer) -> list[Entry]:
    made = [
        accepted_entry(
            writer,
            category=category("closed_qa"),
            instruction="Who wrote Faust? 東京 🐑",
            context="Faust is a play by Goethe.\n\u2028It has two parts.",
            source_url="https://en.wikipedia.org/wiki/Faust",
            response='Goethe, "naïve" \\ café.',
        )
    ]
    made += [accepted_entry(writer, instruction=f"Question {n}?") for n in range(14)]
    source = Source.objects.create(name="dolly", license="cc-by-sa-3.0")
    made.append(EntryFactory(author=None, source=source, status=EntryStatus.ACCEPTED))
    return made


def files_of(snapshot_storage, snapshot: Snapshot) -> dict[str, object]:
    """Every file's content: the text files as bytes, the Parquet files as frames."""
    folder = snapshot_storage / snapshot.directory
    out = {}
    for item in snapshot.files:
        name = item["name"]
        if name.endswith(".parquet"):
            out[name] = pd.read_parquet(folder / name)
        elif name.endswith(".jsonl"):
            out[name] = (folder / name).read_bytes()
    return out


def assert_same_files(snapshot_storage, copied: Snapshot, read: Snapshot) -> None:
    ours, theirs = files_of(snapshot_storage, copied), files_of(snapshot_storage, read)
    assert ours.keys() == theirs.keys()
    for name, content in ours.items():
        if isinstance(content, bytes):
            assert content == theirs[name], name
        else:
            pd.testing.assert_frame_equal(content, theirs[name], obj=name)
    assert bytes(copied.digest) == bytes(read.digest)
    assert bytes(copied.text_digest) == bytes(read.text_digest)


def read_everything(snapshot: Snapshot) -> None:
    """Make `snapshot` a parent nothing can be copied from (as one built before text digests)."""
    Snapshot.objects.filter(pk=snapshot.pk).update(text_digest=b"")


@pytest.mark.parametrize("percent", [0, 30])
def test_only_changed_text_is_read_and_the_files_are_a_full_builds(
    writer, snapshot_storage, small_chunks, caplog, percent
):
    made = corpus(writer)
    first = build(validation_percent=percent)
    # Changed behind the application's back: no updated_at, no signal (an admin in psql).
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE annotation_entry SET response = %s WHERE id = %s", ["Patched.", made[3].pk]
        )
    Entry.objects.filter(pk=made[5].pk).update(status=EntryStatus.WITHDRAWN)
    added = accepted_entry(writer, instruction="A new question?")

    options = SnapshotOptions.parse({"validation_percent": percent})
    entries = selectors.exportable_entries(**options.filters)
    streamed = [
        row
        for chunk in rows.export_rows(
            entries=entries, chunk_size=4, parent=parent.ParentRecords.of(first, files=False)
        )
        for row in chunk
    ]
    assert {row.id for row in streamed if row.instruction is not None} == {made[3].pk, added.pk}
    assert made[5].pk not in {row.id for row in streamed}
    # The nightly job's digests are the same whether it copies them from the parent or not.
    assert diff.exportable_digests(options=options, last=first) == diff.exportable_digests(
        options=options
    )

    with caplog.at_level(logging.WARNING):
        copied = build(validation_percent=percent)
    # Copied from the parent: its files passed every check as they were read.
    assert "files are not what it stored" not in caplog.text
    data = [
        json.loads(line)
        for line in files_of(snapshot_storage, copied)["data.jsonl"].split(b"\n")[:-1]
    ]
    assert [record["response"] for record in data].count("Patched.") == 1
    assert copied.changes == {"added": 1, "removed": 1, "changed": 1}

    read_everything(copied)
    read = build(validation_percent=percent)
    assert_same_files(snapshot_storage, copied, read)


def test_a_renamed_category_changes_its_records(writer, snapshot_storage, small_chunks):
    corpus(writer)
    build()
    category("closed_qa").__class__.objects.filter(slug="closed_qa").update(slug="closed_qa_v2")
    copied = build()
    data = files_of(snapshot_storage, copied)["data.jsonl"].decode()
    assert '"category": "closed_qa_v2"' in data and '"category": "closed_qa"}' not in data
    assert copied.changes["changed"] == 1


@pytest.mark.parametrize(("before", "after"), [(0, 30), (30, 0), (20, 40)])
def test_a_parent_with_another_split_is_copied_from_its_own_shards(
    writer, snapshot_storage, small_chunks, before, after
):
    made = corpus(writer)
    build(validation_percent=before)
    Entry.objects.filter(pk=made[2].pk).update(instruction="Rewritten?")
    copied = build(validation_percent=after)
    read_everything(copied)
    assert_same_files(snapshot_storage, copied, build(validation_percent=after))


SHARD = "data/train-00000-of-00001.parquet"


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        ("line", "are not what it stored"),
        ("last line cut", "data.jsonl ends before record"),
        ("extra line", "data.jsonl is not the file its snapshot stored"),
        ("no final newline", "data.jsonl ends before record"),
        ("not a record", "ArrowInvalid"),
        ("metadata bytes", "is not the file its snapshot stored"),
        ("missing metadata", "No such file"),
        ("missing data", "No such file"),
    ],
)
def test_a_parent_whose_files_are_not_what_it_stored_is_not_copied_from(
    writer, snapshot_storage, small_chunks, caplog, damage, why
):
    corpus(writer)
    first = build()
    folder = snapshot_storage / first.directory

    def flip_a_byte(path):  # in the middle: the file still opens, only the checksum can tell
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))

    if damage == "line":  # same length, other text
        data = (folder / "data.jsonl").read_bytes()
        (folder / "data.jsonl").write_bytes(data.replace(b"Question 7?", b"Question X?"))
    elif damage in ("last line cut", "extra line", "no final newline"):
        data = (folder / "data.jsonl").read_bytes()
        lines = data.split(b"\n")[:-1]
        changed = {
            "last line cut": b"\n".join(lines[:-1]) + b"\n",
            "extra line": data + lines[0] + b"\n",
            "no final newline": data[:-1],
        }
        (folder / "data.jsonl").write_bytes(changed[damage])
    elif damage == "not a record":  # a field renamed: read before the file's checksum is
        data = (folder / "data.jsonl").read_bytes()
        (folder / "data.jsonl").write_bytes(
            data.replace(b'{"instruction": "Question 7?"', b'{"instructions": "Question 7?"')
        )
    elif damage == "metadata bytes":
        flip_a_byte(folder / "metadata.parquet")
    elif damage == "missing metadata":
        (folder / "metadata.parquet").unlink()
    else:
        (folder / "data.jsonl").unlink()
    accepted_entry(writer, instruction="A new question?")
    with caplog.at_level(logging.WARNING):
        copied = build()
    warned = [r.getMessage() for r in caplog.records if f"v{first.version}'s" in r.getMessage()]
    assert len(warned) == 1 and why in warned[0], caplog.text
    text = files_of(snapshot_storage, copied)["data.jsonl"]
    assert b"Question 7?" in text and b"Question X?" not in text
    assert b'"instructions"' not in text
    read_everything(copied)
    assert_same_files(snapshot_storage, copied, build())


@pytest.mark.parametrize("damage", ["shard bytes", "missing shard"])
def test_the_parents_parquet_shards_are_never_read(
    writer, snapshot_storage, small_chunks, caplog, damage
):
    # A copied record's texts come from its data.jsonl line, checked against its sha256: the
    # parent's shards may be damaged or gone, and the copy is still a full build's.
    made = corpus(writer)
    first = build()
    shard = snapshot_storage / first.directory / SHARD
    if damage == "shard bytes":
        data = bytearray(shard.read_bytes())
        data[len(data) // 2] ^= 0xFF
        shard.write_bytes(bytes(data))
    else:
        shard.unlink()
    Entry.objects.filter(pk=made[3].pk).update(response="Rewritten.")
    with caplog.at_level(logging.WARNING):
        copied = build()
    assert not [r for r in caplog.records if f"v{first.version}'s" in r.getMessage()]
    assert copied.changes == {"added": 0, "removed": 0, "changed": 1}
    read_everything(copied)
    assert_same_files(snapshot_storage, copied, build())


def test_the_stored_text_digest_tells_fields_apart_and_follows_every_write(writer):
    one = accepted_entry(writer, instruction="ab", context="c", response="r")
    two = accepted_entry(writer, instruction="a", context="bc", response="r")
    digests = dict(Entry.objects.values_list("pk", "text_digest"))
    assert digests[one.pk] != digests[two.pk]
    with connection.cursor() as cursor:  # the database works it out, whoever writes
        cursor.execute("UPDATE annotation_entry SET instruction = 'a' WHERE id = %s", [one.pk])
    assert Entry.objects.get(pk=one.pk).text_digest != digests[one.pk]


def test_a_chunk_puts_changed_rows_in_their_places_and_leaves_out_those_gone():
    # Entries 10-15 streamed in id order: 11 and 14 copied from the parent (its records 0 and
    # 1), 10, 12, 13 and 15 changed; 12 was no longer exportable when read again.
    import numpy as np

    class Parent:
        lines = ()  # not None: the parent's lines are read
        lengths = np.array([[1, 2, 3], [4, 5, 6]])

        def digests(self, places):
            return [b"text%04d" % p for p in places], [b"full%04d" % p for p in places]

        def records(self, places):
            return [b"line %d" % p for p in places]

    when = timezone.now()

    def changed(pk):
        return rows.ExportRow(
            pk,
            7,
            0,
            "open_qa",
            1,
            0,
            1,
            b"",
            "i",
            "",
            "r",
            when,
            when,
            1,
            b"t" * 8,
            b"d" * 8,
            b"{}",
        )

    stream = [(pk, "open_qa", None, None, "", when, when, 1, "ab" * 16) for pk in range(10, 16)]
    places = np.array([-1, 0, -1, -1, 1, -1])
    fresh = {pk: changed(pk) for pk in (10, 13, 15)}
    made = rows._chunk_with_parent(stream, places, fresh, Parent())
    assert [row.id for row in made] == [10, 11, 13, 14, 15]
    assert [made[0], made[2], made[4]] == [fresh[10], fresh[13], fresh[15]]
    copied = made[1]
    assert (copied.author_id, copied.source_id, copied.instruction) == (0, 0, None)
    assert (copied.instruction_chars, copied.context_chars, copied.response_chars) == (1, 2, 3)
    assert (copied.text_digest, copied.digest, copied.record) == (
        b"text0000",
        b"full0000",
        b"line 0",
    )
    assert (made[3].response_chars, made[3].record) == (6, b"line 1")
