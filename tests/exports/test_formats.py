"""A snapshot's formats (issue 15): the Hugging Face layout's Parquet shards hold data.jsonl's
records in its order; metadata.parquet has a row per record with its review figures and a
pseudonym, never a name; the dataset card's configs let `datasets` load the directory as it is;
the gzipped tar is the plain tar, checksummed at build time; nested files download by their
path and nothing else does."""

import gzip
import hashlib
import io
import json
import shutil
import tarfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from django.core.files.storage import FileSystemStorage
from rest_framework.test import APIClient

from annotation import services as annotation
from annotation.models import Decision, Entry, EntryStatus, Profile, Review, Source
from exports import services
from exports.models import SnapshotStatus
from exports.services.snapshots import files, parquet, rows
from exports.services.snapshots.metadata import (
    METADATA_SCHEMA,
    MetadataRows,
    contributor_pseudonym,
)
from leaderboard.models import Contest
from tests.factories import (
    EntryFactory,
    UserFactory,
    accepted_entry,
    approve,
    category,
    reject,
    snapshot_built,
    submitted,
)

pytestmark = pytest.mark.django_db

RECORD_COLUMNS = ["instruction", "context", "response", "category"]


@pytest.fixture
def writer(db):
    user = UserFactory(username="writer", email="writer.person@corp.example")
    annotation.agreement_accept(user=user)
    return user


accepted = accepted_entry


build = snapshot_built


def folder_of(snapshot_storage, snapshot):
    return snapshot_storage / snapshot.directory


def jsonl(folder, name) -> list[dict]:
    return [json.loads(line) for line in (folder / name).read_bytes().split(b"\n")[:-1]]


def shards(folder, split) -> pd.DataFrame:
    paths = sorted((folder / "data").glob(f"{split}-*.parquet"))
    return pd.concat([pd.read_parquet(path) for path in paths], ignore_index=True)


def metadata(folder) -> pd.DataFrame:
    return pd.read_parquet(folder / "metadata.parquet")


def some_entries(writer, n=30) -> list[Entry]:
    made = [
        accepted(
            writer,
            category=category("closed_qa"),
            instruction="Who wrote Faust? 東京 🐑",
            context="Faust is a play by Goethe.\n\u2028It has two parts.",
            source_url="https://en.wikipedia.org/wiki/Faust",
            response='Goethe, "naïve" \\ café.',
        )
    ]
    made += [accepted(writer, instruction=f"Question {n}?") for n in range(n - 1)]
    return made


# --- Parquet and JSONL ------------------------------------------------------------------------


@pytest.mark.parametrize("percent", [0, 30])
def test_parquet_and_jsonl_hold_the_same_records_in_the_same_order(
    writer, snapshot_storage, percent
):
    entries = some_entries(writer)
    source = Source.objects.create(name="dolly", license="cc-by-sa-3.0")
    entries.append(EntryFactory(author=None, source=source, status=EntryStatus.ACCEPTED))
    snapshot = build(validation_percent=percent)
    folder = folder_of(snapshot_storage, snapshot)

    every = shards(folder, "train")
    if percent:
        every = pd.concat([every, shards(folder, "validation")], ignore_index=True)
        for split in ("train", "validation"):
            frame = shards(folder, split)
            assert frame[RECORD_COLUMNS].to_dict("records") == jsonl(folder, f"{split}.jsonl")
            assert snapshot.file(f"data/{split}-00000-of-00001.parquet")
        assert 0 < len(shards(folder, "validation")) < len(entries)
        every = every.sort_values("id", ignore_index=True)  # data.jsonl's order: by id
    else:
        assert not list((folder / "data").glob("validation-*"))
        assert [f["name"] for f in snapshot.files if f["name"].startswith("data/")] == [
            "data/train-00000-of-00001.parquet"
        ]
    assert every[RECORD_COLUMNS].to_dict("records") == jsonl(folder, "data.jsonl")
    assert every["id"].tolist() == sorted(entry.pk for entry in entries)
    # The id is the entry id: the one the manifest's changes and metadata.parquet use.
    manifest = json.loads((folder / "manifest.json").read_text())
    assert sorted(manifest["changes"]["added"]) == every["id"].tolist()
    assert every["id"].tolist() == sorted(metadata(folder)["id"].tolist())
    schema = pq.read_schema(folder / "data" / "train-00000-of-00001.parquet")
    assert [(f.name, str(f.type)) for f in schema] == [
        ("id", "int64"),
        ("instruction", "string"),
        ("context", "string"),
        ("response", "string"),
        ("category", "string"),
    ]
    # Every file is recorded with its size and sha256, the shards by their relative path.
    for item in snapshot.files:
        data = (folder / item["name"]).read_bytes()
        assert (item["size"], item["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())


def test_shards_and_row_groups_split_at_their_sizes_and_keep_the_order(
    writer, snapshot_storage, monkeypatch
):
    # Chunks of 2 rows; a row group closes at 4 or more, a shard at exactly 7.
    monkeypatch.setattr(rows, "CHUNK_ROWS", 2)
    monkeypatch.setattr(rows, "SHARD_ROWS", 7)
    monkeypatch.setattr(parquet, "ROW_GROUP_ROWS", 4)
    entries = [accepted(writer, instruction=f"Question {n}?") for n in range(17)]
    snapshot = build()
    folder = folder_of(snapshot_storage, snapshot)
    names = [f["name"] for f in snapshot.files if f["name"].startswith("data/")]
    assert names == [f"data/train-0000{n}-of-00003.parquet" for n in range(3)]
    files = [pq.ParquetFile(folder / name) for name in names]
    assert [f.metadata.num_rows for f in files] == [7, 7, 3]
    groups = [[f.metadata.row_group(n).num_rows for n in range(f.num_row_groups)] for f in files]
    assert groups == [[4, 3], [5, 2], [3]]
    assert shards(folder, "train")["id"].tolist() == [entry.pk for entry in entries]
    assert not list(folder.rglob("*.part"))
    card = (folder / "README.md").read_text()
    assert "| data/train-00002-of-00003.parquet | 3 |" in card
    assert "| metadata.parquet | 17 |" in card


def test_datasets_loads_the_snapshot_directory_with_its_splits_and_metadata(
    writer, snapshot_storage, tmp_path, monkeypatch
):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    import datasets

    some_entries(writer, n=24)
    snapshot = build(validation_percent=40)
    copy = tmp_path / "download" / snapshot.directory
    shutil.copytree(folder_of(snapshot_storage, snapshot), copy)
    cache = str(tmp_path / "cache")

    loaded = datasets.load_dataset(str(copy), cache_dir=cache)
    manifest = json.loads((copy / "manifest.json").read_text())
    assert set(loaded) == {"train", "validation"}
    assert loaded["train"].num_rows == len(jsonl(copy, "train.jsonl"))
    assert loaded["validation"].num_rows == len(jsonl(copy, "validation.jsonl"))
    assert loaded["train"].num_rows + loaded["validation"].num_rows == manifest["record_count"]
    assert loaded["train"].column_names == ["id", *RECORD_COLUMNS]
    first = loaded["train"][0]
    assert {k: first[k] for k in RECORD_COLUMNS} == jsonl(copy, "train.jsonl")[0]

    meta = datasets.load_dataset(str(copy), "metadata", cache_dir=cache)
    assert meta["train"].num_rows == 24
    assert meta["train"].column_names == METADATA_SCHEMA.names

    front = yaml.safe_load((copy / "README.md").read_text().split("---\n")[1])
    assert front["configs"] == [
        {
            "config_name": "default",
            "default": True,
            "data_files": [
                {"split": "train", "path": "data/train-*.parquet"},
                {"split": "validation", "path": "data/validation-*.parquet"},
            ],
        },
        {"config_name": "metadata", "data_files": [{"split": "train", "path": "metadata.parquet"}]},
    ]


def test_without_a_split_datasets_loads_one_train_split(writer, snapshot_storage, tmp_path):
    some_entries(writer, n=5)
    snapshot = build()
    import datasets

    loaded = datasets.load_dataset(
        str(folder_of(snapshot_storage, snapshot)), cache_dir=str(tmp_path / "cache")
    )
    assert set(loaded) == {"train"} and loaded["train"].num_rows == 5
    card = (folder_of(snapshot_storage, snapshot) / "README.md").read_text()
    assert "| data/train-00000-of-00001.parquet | 5 |" in card
    assert "datasets.load_dataset(" in card and "pandas.read_parquet(" in card


# --- metadata.parquet --------------------------------------------------------------------------


def test_metadata_has_the_accepting_rounds_figures_and_marks_imported_rows(
    alice, bob, carol, dave, snapshot_storage, time_machine
):
    moment = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)
    # Scoring makes the week's contest for "now": the clock stays in the week of this one.
    time_machine.move_to(moment + timedelta(hours=2))
    Contest.objects.create(
        name="Week 10",
        starts_at=moment - timedelta(days=1),
        ends_at=moment + timedelta(days=1),
        grace_ends_at=moment + timedelta(days=3),
    )
    # Reviewed here: approve, reject, approve accepts it (2 to 1; ratings 4, 2, 4).
    reviewed = submitted(
        alice,
        category=category("closed_qa"),
        context="Vienna lies on the Danube.",
        source_url="https://de.wikipedia.org/wiki/Wien",
    )
    approve(reviewed, bob)
    reject(reviewed, carol)
    approve(reviewed, dave)
    reviewed.refresh_from_db()
    assert reviewed.status == EntryStatus.ACCEPTED
    # A vote that does not count (low gold accuracy) changes neither the figures nor the mean.
    Review.objects.create(
        entry=reviewed, reviewer=UserFactory(), round=1, verdict="reject", rating=1, counts=False
    )
    Entry.objects.filter(pk=reviewed.pk).update(
        created_at=moment - timedelta(seconds=754), submitted_at=moment
    )
    # Accepted in its second round: the first round's (rejected) votes are not its figures.
    second = accepted(alice, review_round=2)
    Decision.objects.filter(entry=second).update(round=2, approvals=3, rejections=1)
    Decision.objects.create(entry=second, round=1, outcome="rejected", rejections=2)
    for reviewer, verdict, rating, round_ in [
        (bob, "reject", 1, 1),
        (carol, "reject", 1, 1),
        (dave, "approve", 5, 2),
        (UserFactory(), "approve", 4, 2),
        (UserFactory(), "approve", 3, 2),
        (UserFactory(), "reject", 2, 2),
    ]:
        Review.objects.create(
            entry=second, reviewer=reviewer, round=round_, verdict=verdict, rating=rating
        )
    Entry.objects.filter(pk=second.pk).update(submitted_at=moment + timedelta(days=5))
    source = Source.objects.create(name="dolly-15k", license="cc-by-sa-3.0")
    imported = EntryFactory(author=None, source=source, status=EntryStatus.ACCEPTED)

    snapshot = build(validation_percent=50)
    table = metadata(folder_of(snapshot_storage, snapshot))
    assert table["id"].tolist() == [reviewed.pk, second.pk, imported.pk]
    rows_by_id = {row["id"]: row for row in table.to_dict("records")}

    row = rows_by_id[reviewed.pk]
    assert (row["approvals"], row["rejections"]) == (2, 1)
    assert row["mean_rating"] == pytest.approx(10 / 3, abs=1e-4)
    assert row["agreement"] == pytest.approx(2 / 3)
    assert not row["imported"]
    assert pd.isna(row["import_source"])
    assert row["contest"] == "Week 10"
    assert row["writing_seconds"] == 754
    assert row["source_domain"] == "wikipedia.org"
    assert row["category"] == "closed_qa"
    assert row["contributor"] == contributor_pseudonym(alice.pk)
    assert (row["instruction_chars"], row["context_chars"], row["response_chars"]) == (
        len(reviewed.instruction),
        len("Vienna lies on the Danube."),
        len(reviewed.response),
    )

    row = rows_by_id[second.pk]
    assert (row["approvals"], row["rejections"]) == (3, 1)
    assert row["mean_rating"] == pytest.approx(3.5)
    assert row["agreement"] == pytest.approx(0.75)
    assert pd.isna(row["contest"])  # submitted after the contest's window
    assert pd.isna(row["source_domain"]) and row["context_chars"] == 0

    row = rows_by_id[imported.pk]
    assert row["imported"] and row["import_source"] == "dolly-15k"
    for column in ("approvals", "rejections", "mean_rating", "agreement", "contest"):
        assert pd.isna(row[column]), column
    assert pd.isna(row["writing_seconds"]) and pd.isna(row["contributor"])

    # The split column says where each record is.
    folder = folder_of(snapshot_storage, snapshot)
    in_validation = set(shards(folder, "validation")["id"])
    assert {r["id"] for r in rows_by_id.values() if r["split"] == "validation"} == in_validation


def test_metadata_read_a_span_of_ids_at_a_time_has_every_records_figures(
    alice, snapshot_storage, monkeypatch
):
    """The review figures are read a span of ids at a time, each chunk of rows from the span
    that holds it: with spans smaller than the chunks and chunks of two rows, every record
    still has its own round's figures."""
    from exports.services.snapshots import metadata as metadata_module

    entries = [accepted(alice, instruction=f"Question number {n}?") for n in range(7)]
    for n, entry in enumerate(entries):
        Decision.objects.filter(entry=entry).update(approvals=n + 2, rejections=n % 2)
    wanted = {entry.pk: (n + 2, n % 2) for n, entry in enumerate(entries)}
    for span, chunk in [(40_000, 2_000), (3, 2), (1, 2)]:
        monkeypatch.setattr(metadata_module, "ACCEPTED_SPAN", span)
        monkeypatch.setattr(rows, "CHUNK_ROWS", chunk)
        table = metadata(folder_of(snapshot_storage, build()))
        found = {
            pk: (yes, no)
            for pk, yes, no in zip(
                table["id"], table["approvals"], table["rejections"], strict=True
            )
        }
        assert found == wanted, (span, chunk)


def test_no_metadata_value_names_a_person(alice, bob, writer, snapshot_storage):
    for user, name in [(alice, "Alice Example"), (writer, "W. Riter"), (bob, "Bob B")]:
        Profile.objects.update_or_create(user=user, defaults={"display_name": name})
    for user in (alice, writer):
        accepted(user, instruction=f"A question by someone {user.pk}?")
    snapshot = build()
    table = metadata(folder_of(snapshot_storage, snapshot))
    values = [str(v) for v in table.astype(str).to_numpy().ravel()]
    people = [
        piece
        for user in (alice, bob, writer)
        for piece in (user.username, user.email, user.profile.display_name)
    ]
    assert len(table) == 2
    for piece in people:
        assert not [v for v in values if piece.lower() in v.lower()], piece
    assert set(table["contributor"]) == {
        contributor_pseudonym(alice.pk),
        contributor_pseudonym(writer.pk),
    }


def test_pseudonyms_are_stable_distinct_and_change_with_the_secret(
    alice, writer, snapshot_storage, settings
):
    mine = accepted(alice, instruction="Alice asks?")
    theirs = accepted(writer, instruction="Writer asks?")

    def pseudonyms() -> dict[int, str]:
        table = metadata(folder_of(snapshot_storage, build()))
        return dict(zip(table["id"], table["contributor"], strict=True))

    first, second = pseudonyms(), pseudonyms()
    assert first == second
    assert first[mine.pk] != first[theirs.pk]
    assert len(first[mine.pk]) == 16 and int(first[mine.pk], 16) >= 0
    settings.FLOCK_PSEUDONYM_SECRET = "another secret"
    third = pseudonyms()
    assert third[mine.pk] != first[mine.pk] and third[theirs.pk] != first[theirs.pk]
    assert third[mine.pk] == contributor_pseudonym(alice.pk)


# --- The gzipped tar and downloads -------------------------------------------------------------


@pytest.fixture
def dana_client(client, dana):
    client.force_login(dana)
    return client


def body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("threads", [1, 3])
def test_the_gzipped_tar_is_the_same_bytes_however_many_threads_compress_it(
    writer, snapshot_storage, tmp_path, monkeypatch, threads
):
    from exports.services.snapshots import archive

    some_entries(writer, n=5)
    snapshot = build(validation_percent=20)
    spool = tmp_path / "copied"
    shutil.copytree(folder_of(snapshot_storage, snapshot), spool)
    built = (spool / snapshot.archive_gz["name"]).read_bytes()
    # Blocks of 512 bytes: the small tar is many blocks, each compressed by whichever thread.
    monkeypatch.setattr(archive, "GZIP_BLOCK", 512)
    monkeypatch.setattr(archive, "GZIP_THREADS", threads)
    tar, gz = archive.archive_write(snapshot=snapshot, spool=spool, files=snapshot.files)
    again = (spool / gz["name"]).read_bytes()
    assert tar == snapshot.archive
    assert gzip.decompress(again) == gzip.decompress(built)
    assert len(gzip.decompress(again)) > 20 * 512
    monkeypatch.setattr(archive, "GZIP_THREADS", 2)
    archive.archive_write(snapshot=snapshot, spool=spool, files=snapshot.files)
    assert (spool / gz["name"]).read_bytes() == again


def test_the_gzipped_tar_is_the_plain_tar_with_its_recorded_checksum(
    writer, dana_client, snapshot_storage
):
    some_entries(writer, n=5)
    snapshot = build(validation_percent=20)
    gz = snapshot.archive_gz
    assert gz["name"] == "v0001.tar.gz"
    assert gz["name"] not in [f["name"] for f in snapshot.files]
    stored = (folder_of(snapshot_storage, snapshot) / gz["name"]).read_bytes()
    assert (len(stored), hashlib.sha256(stored).hexdigest()) == (gz["size"], gz["sha256"])

    response = dana_client.get(f"/exports/{snapshot.pk}/files/v0001.tar.gz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/gzip"
    assert response["X-Checksum-SHA256"] == gz["sha256"]
    assert "Content-Encoding" not in response
    assert 'filename="v0001.tar.gz"' in response["Content-Disposition"]
    downloaded = body(response)
    assert downloaded == stored
    plain = body(dana_client.get(f"/exports/{snapshot.pk}/files/v0001.tar"))
    assert gzip.decompress(downloaded) == plain
    assert hashlib.sha256(plain).hexdigest() == snapshot.archive["sha256"]
    # Deterministic: no file name and no time in the header.
    assert downloaded[3] & 0x08 == 0
    assert int.from_bytes(downloaded[4:8], "little") == 0
    with tarfile.open(fileobj=io.BytesIO(plain)) as tar:
        assert [m.name for m in tar.getmembers()] == [f"v0001/{f['name']}" for f in snapshot.files]
        parquet_bytes = tar.extractfile("v0001/data/train-00000-of-00001.parquet").read()
    assert (
        parquet_bytes
        == (
            folder_of(snapshot_storage, snapshot) / "data" / ("train-00000-of-00001.parquet")
        ).read_bytes()
    )


def test_a_nested_data_file_downloads_by_its_path_from_the_page_and_the_api(
    writer, dana, dana_client
):
    some_entries(writer, n=3)
    snapshot = build()
    item = snapshot.file("data/train-00000-of-00001.parquet")
    api = APIClient()
    api.force_authenticate(dana)
    for response in [
        dana_client.get(f"/exports/{snapshot.pk}/files/data/train-00000-of-00001.parquet"),
        dana_client.get("/exports/latest/files/data/train-00000-of-00001.parquet"),
        api.get(f"/api/v1/snapshots/{snapshot.pk}/files/data/train-00000-of-00001.parquet"),
        dana_client.get(f"/exports/{snapshot.pk}/files/metadata.parquet"),
    ]:
        assert response.status_code == 200
        assert response["Content-Type"] == "application/vnd.apache.parquet"
        data = body(response)
        assert response["X-Checksum-SHA256"] == hashlib.sha256(data).hexdigest()
    assert (
        hashlib.sha256(
            body(dana_client.get(f"/exports/{snapshot.pk}/files/data/train-00000-of-00001.parquet"))
        ).hexdigest()
        == item["sha256"]
    )

    # The page links every file and both archives; the API describes them.
    page = dana_client.get(f"/exports/{snapshot.pk}/").content.decode()
    for name in [
        "data/train-00000-of-00001.parquet",
        "metadata.parquet",
        "v0001.tar",
        "v0001.tar.gz",
    ]:
        assert f'/exports/{snapshot.pk}/files/{name}"' in page, name
    assert snapshot.archive_gz["sha256"] in page
    answer = api.get(f"/api/v1/snapshots/{snapshot.pk}/").json()
    assert answer["archive_gz"]["name"] == "v0001.tar.gz"
    assert answer["archive_gz"]["sha256"] == snapshot.archive_gz["sha256"]
    assert answer["archive_gz"]["url"].endswith(
        f"/api/v1/snapshots/{snapshot.pk}/files/v0001.tar.gz"
    )
    listed = {f["name"]: f for f in answer["files"]}
    assert listed["data/train-00000-of-00001.parquet"]["url"].endswith(
        "/files/data/train-00000-of-00001.parquet"
    )
    assert api.get(listed["data/train-00000-of-00001.parquet"]["url"]).status_code == 200


@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "data/../x",
        "data/a/b",
        "..",
        "data/..",
        "%2E%2E/manifest.json",
        "data/%2E%2E/manifest.json",
        "data/",
        "other/metadata.parquet",
        "data/metadata.parquet",
        "data/train-00009-of-00001.parquet",
        ".hidden",
    ],
)
def test_a_bad_file_name_is_a_404(writer, dana, dana_client, name):
    accepted(writer)
    snapshot = build()
    api = APIClient()
    api.force_authenticate(dana)
    assert dana_client.get(f"/exports/{snapshot.pk}/files/{name}").status_code == 404
    assert api.get(f"/api/v1/snapshots/{snapshot.pk}/files/{name}").status_code == 404


# --- Interrupted and failed builds leave nothing --------------------------------------------------


class BreaksOnTheGzippedTar(FileSystemStorage):
    """Local disk that fails to store the gzipped tar, the last file a build stores."""

    def _save(self, name, content):
        if name.endswith(".tar.gz"):
            raise OSError("disk full")
        return super()._save(name, content)


def test_a_failed_build_removes_its_parquet_files_and_a_retry_clears_leftovers(
    writer, dana, settings, snapshot_storage
):
    accepted(writer)
    settings.STORAGES = {
        **settings.STORAGES,
        "snapshots": {
            "BACKEND": f"{__name__}.BreaksOnTheGzippedTar",
            "OPTIONS": {"location": str(snapshot_storage)},
        },
    }
    snapshot, _ = services.snapshot_request(user=dana, options={}, start=False)
    failed = services.snapshot_build(snapshot_id=snapshot.pk, rescan=False)
    assert failed.status == SnapshotStatus.FAILED and "disk full" in failed.error
    assert failed.archive_gz == {}
    assert not [p for p in snapshot_storage.rglob("*") if p.is_file()]

    # What an attempt killed mid-store leaves (the data/ folder too) goes before the next one.
    settings.STORAGES = {
        **settings.STORAGES,
        "snapshots": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(snapshot_storage)},
        },
    }
    leftover = snapshot_storage / failed.directory / "data" / "train-00000-of-00009.parquet"
    leftover.parent.mkdir(parents=True, exist_ok=True)
    leftover.write_bytes(b"half")
    (snapshot_storage / failed.directory / "v0001.tar.gz").write_bytes(b"half")
    services.snapshot_retry(snapshot=failed, user=dana)
    retried = services.snapshot_build(snapshot_id=snapshot.pk, rescan=False)
    assert retried.status == SnapshotStatus.READY
    folder = snapshot_storage / retried.directory
    on_disk = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert on_disk == sorted([*(f["name"] for f in retried.files), "v0001.tar.gz"])
    gz = (folder / "v0001.tar.gz").read_bytes()
    assert hashlib.sha256(gz).hexdigest() == retried.archive_gz["sha256"]


def test_a_validation_split_that_came_out_empty_is_not_named_in_the_configs(
    writer, snapshot_storage, tmp_path, monkeypatch
):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import datasets

    some_entries(writer, n=1)
    snapshot = build(validation_percent=0.01)  # one record in 10,000 would go to validation
    folder = folder_of(snapshot_storage, snapshot)
    assert jsonl(folder, "validation.jsonl") == []
    loaded = datasets.load_dataset(str(folder), cache_dir=str(tmp_path / "cache"))
    assert set(loaded) == {"train"} and loaded["train"].num_rows == 1
    card = (folder / "README.md").read_text()
    assert "`train` split" in card and "data/validation-*.parquet\n" not in card


@pytest.fixture
def twelve_in_pairs(writer, monkeypatch):
    """Twelve accepted entries streamed two at a time, in row groups of two."""
    monkeypatch.setattr(rows, "CHUNK_ROWS", 2)
    monkeypatch.setattr(parquet, "ROW_GROUP_ROWS", 2)
    for n in range(12):
        accepted(writer, instruction=f"Question {n}?")


def assert_nothing_left(failed, settings, snapshot_storage) -> None:
    assert failed.status == SnapshotStatus.FAILED and "No space left" in failed.error
    assert failed.files == [] and failed.record_count == 0
    assert not [p for p in snapshot_storage.rglob("*") if p.is_file()]
    assert not [p for p in Path(settings.FLOCK_SNAPSHOT_SPOOL_DIR).rglob("*") if p.is_file()]


def test_a_spool_that_fills_up_while_the_parquet_files_are_written_fails_the_build_cleanly(
    twelve_in_pairs, dana, settings, snapshot_storage, monkeypatch
):
    # The third row group of the train shard finds the disk full: the build fails saying so,
    # stops reading soon after, and leaves nothing in the storage or the spool.
    flushed, chunks = [], []
    real_flush, real_columns = parquet.ParquetSpool._flush, MetadataRows.columns

    def flush(self):
        if self.label == "train" and self.buffered:
            flushed.append(self.buffered_rows)
            if len(flushed) == 3:
                raise OSError(28, "No space left on device")
        real_flush(self)

    def columns(self, **inputs):
        chunks.append(len(inputs["ids"]))
        return real_columns(self, **inputs)

    monkeypatch.setattr(parquet.ParquetSpool, "_flush", flush)
    monkeypatch.setattr(MetadataRows, "columns", columns)
    snapshot, _ = services.snapshot_request(user=dana, options={}, start=False)
    failed = services.snapshot_build(snapshot_id=snapshot.pk, rescan=False)
    assert_nothing_left(failed, settings, snapshot_storage)
    # The Parquet rows are handed to the shards on a thread of their own: the failure stops the
    # stream at most rows.PARQUET_PENDING chunks later, well before its end (6 chunks).
    assert 2 <= len(chunks) <= 3 + rows.PARQUET_PENDING - 1 < 6


def _third_call_fails(monkeypatch, owner, name, matches) -> tuple[list, set]:
    """Make `owner.name(self, data, …)` find the disk full on its third call that `matches`;
    (the matching calls' data, the names of the threads they ran on)."""
    seen, threads = [], set()
    real = getattr(owner, name)

    def failing(self, data, *args, **kwargs):
        if matches(self, data):
            threads.add(threading.current_thread().name)
            seen.append(data)
            if len(seen) == 3:
                raise OSError(28, "No space left on device")
        return real(self, data, *args, **kwargs)

    monkeypatch.setattr(owner, name, failing)
    return seen, threads


@pytest.mark.parametrize("written_file", ["train shard", "data.jsonl"])
def test_a_write_that_fails_on_its_files_thread_fails_the_build_cleanly(
    twelve_in_pairs, dana, settings, snapshot_storage, monkeypatch, written_file
):
    # The train shard's row groups, and data.jsonl's records, are written on a thread of the
    # file's own: the third write finds the disk full there, and the build still fails saying
    # so and leaves nothing behind.
    import pyarrow.parquet as pyarrow_parquet

    if written_file == "train shard":
        written, threads = _third_call_fails(
            monkeypatch,
            pyarrow_parquet.ParquetWriter,
            "write_table",
            lambda _writer, table: "instruction" in table.schema.names,
        )
        thread, prefix = "parquet-train_0", "parquet-"
    else:
        written, threads = _third_call_fails(
            monkeypatch,
            files.HashingFile,
            "_write",
            lambda spooled, _data: spooled.handle.name.endswith("/data.jsonl"),
        )
        thread, prefix = "write-data.jsonl_0", "write-"
    snapshot, _ = services.snapshot_request(user=dana, options={}, start=False)
    failed = services.snapshot_build(snapshot_id=snapshot.pk, rescan=False)
    assert_nothing_left(failed, settings, snapshot_storage)
    assert threads == {thread}  # not the build's own thread
    assert len(written) == 3  # nothing was written after the failure
    assert not [t for t in threading.enumerate() if t.name.startswith(prefix)]


def test_work_in_order_on_a_thread_skips_what_follows_a_failure_and_keeps_saying_so():
    done = []

    def piece(n):
        if n == 2:
            raise OSError(28, "No space left on device")
        done.append((n, threading.current_thread().name))

    behind = files.InOrder("test-in-order", pending=8)
    try:
        for n in range(5):
            behind.submit(piece, n)
        for _ in range(2):  # a caller that asks again is told again, never "all done"
            with pytest.raises(OSError, match="No space left"):
                behind.wait()
    finally:
        behind.close()
    assert done == [(0, "test-in-order_0"), (1, "test-in-order_0")]
    assert not [t for t in threading.enumerate() if t.name.startswith("test-in-order")]


@pytest.mark.parametrize("fails", [False, True])
def test_the_cycle_collector_is_paused_while_the_rows_stream_and_resumes_after(
    twelve_in_pairs, dana, settings, snapshot_storage, monkeypatch, fails
):
    import gc

    seen = []
    real_columns = MetadataRows.columns

    def columns(self, **inputs):
        seen.append(gc.isenabled())
        if fails and len(seen) == 2:
            raise OSError(28, "No space left on device")
        return real_columns(self, **inputs)

    monkeypatch.setattr(MetadataRows, "columns", columns)
    assert gc.isenabled()
    snapshot, _ = services.snapshot_request(user=dana, options={}, start=False)
    built = services.snapshot_build(snapshot_id=snapshot.pk, rescan=False)
    assert built.status == (SnapshotStatus.FAILED if fails else SnapshotStatus.READY)
    assert seen and not any(seen)
    assert gc.isenabled()
