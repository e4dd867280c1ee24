"""Export snapshots: the files, what goes in, the split, the card, the manifest, the diff, and a
build that fails half way."""

import hashlib
import json
import threading
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import yaml
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.db import connection
from django.utils import timezone

from annotation import holds
from annotation import services as annotation
from annotation.models import Decision, Entry, EntryStatus, Flag, FlagKind, FlagStatus, Source
from annotation.sources import NOT_A_WEB_ADDRESS
from exports import dolly, services
from exports.models import Snapshot, SnapshotStatus
from exports.services.snapshots import DIGEST_DTYPE
from quality import services as quality_services
from quality.checks import BLOCKING
from tests.factories import EntryFactory, UserFactory, accepted_entry, category

pytestmark = pytest.mark.django_db


@pytest.fixture
def writer(db):
    user = UserFactory(username="writer")
    annotation.agreement_accept(user=user)
    return user


accepted = accepted_entry


def build(user=None, rescan=False, **options) -> Snapshot:
    snapshot, _ = services.snapshot_request(user=user, options=options, start=False)
    return services.snapshot_build(snapshot_id=snapshot.pk, rescan=rescan)


def read(storage_dir: Path, snapshot: Snapshot, name: str) -> bytes:
    return (storage_dir / snapshot.directory / name).read_bytes()


def records(storage_dir, snapshot, name="data.jsonl") -> list[dict]:
    return [json.loads(line) for line in read(storage_dir, snapshot, name).splitlines()]


def test_each_line_is_a_dolly_record_with_its_keys_in_order(writer, snapshot_storage):
    closed = accepted(
        writer,
        category=category("closed_qa"),
        instruction='Who wrote "Faust"?',
        context="Faust is a tragic play by Johann Wolfgang von Goethe.\nIt has two parts.",
        source_url="https://en.wikipedia.org/wiki/Goethe%27s_Faust",
        # Everything JSON escapes (quotes, backslashes, controls) and much it leaves alone.
        response='Goethe — naïve café, 東京, 🐑, a tab\tand "quotes", a backslash \\ and \\u00e9, '
        "\r\n, \x01\x1f\x7f, \u2028 and </script>.",
    )
    open_qa = accepted(writer, instruction="Why is the sky blue?", response="Rayleigh.")
    snapshot = build()
    assert snapshot.status == SnapshotStatus.READY, snapshot.error
    raw = read(snapshot_storage, snapshot, "data.jsonl")
    # Records end at "\n" only (str.splitlines would also split at the raw U+2028 inside one).
    lines = [line.decode("utf-8") + "\n" for line in raw.split(b"\n")[:-1]]
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert raw.endswith(b"}\n") and "\u2028" in lines[0]
    assert list(first) == ["instruction", "context", "response", "category"]
    assert first["response"] == closed.response
    assert first["category"] == "closed_qa"
    assert second == {
        "instruction": open_qa.instruction,
        "context": "",
        "response": "Rayleigh.",
        "category": "open_qa",
    }
    # UTF-8 as written, not \u escapes; exactly json.dumps' rendering of the record.
    assert "東京" in lines[0] and "🐑" in lines[0] and "café" in lines[0]
    assert "\\u6771" not in lines[0] and "\\ud83d" not in lines[0]
    for line, record in zip(lines, (first, second), strict=True):
        assert line == json.dumps(record, ensure_ascii=False) + "\n"


def test_two_builds_of_the_same_data_are_byte_identical(writer, snapshot_storage):
    for n in range(30):
        accepted(writer, instruction=f"Question {n} about ünïcödé?")
    one, two = build(), build()
    assert one.version + 1 == two.version
    first = read(snapshot_storage, one, "data.jsonl")
    assert first == read(snapshot_storage, two, "data.jsonl")
    assert one.file("data.jsonl")["sha256"] == two.file("data.jsonl")["sha256"]
    assert one.file("data.jsonl")["sha256"] == hashlib.sha256(first).hexdigest()


def test_only_accepted_entries_that_no_blocking_flag_holds_back_go_out(writer, snapshot_storage):
    kept = accepted(writer, instruction="Kept?")
    dismissed = accepted(writer, instruction="A false alarm?")
    closed = accepted(writer, instruction="Closed by a check?")
    informed = accepted(writer, instruction="Only informed?")
    for status in (EntryStatus.DRAFT, EntryStatus.SUBMITTED, EntryStatus.REJECTED):
        EntryFactory(author=writer, status=status)
    held = []
    for name, kind, status in [
        ("open_blocking", FlagKind.PERSONAL_DATA, FlagStatus.OPEN),
        ("confirmed_blocking", FlagKind.AI_TEXT, FlagStatus.CONFIRMED),
        ("open_near_duplicate", FlagKind.NEAR_DUPLICATE, FlagStatus.OPEN),
        ("confirmed_near_duplicate", FlagKind.NEAR_DUPLICATE, FlagStatus.CONFIRMED),
        ("by_hand", FlagKind.MODERATOR, FlagStatus.OPEN),
    ]:
        entry = accepted(writer, instruction=f"{name}?")
        Flag.objects.create(
            entry=entry, kind=kind, blocking=BLOCKING[kind], status=status, evidence_key=name
        )
        held.append(entry)
    for entry, kind, status in [
        (dismissed, FlagKind.PERSONAL_DATA, FlagStatus.DISMISSED),
        (closed, FlagKind.NEAR_DUPLICATE, FlagStatus.CLOSED),
        (informed, FlagKind.CITATION_MARKERS, FlagStatus.OPEN),
    ]:
        Flag.objects.create(
            entry=entry, kind=kind, blocking=BLOCKING[kind], status=status, evidence_key="x"
        )
    snapshot = build()
    out = [kept, dismissed, closed, informed]
    assert snapshot.record_count == len(out)
    exported = Snapshot.objects.get(pk=snapshot.pk)
    assert exported.category_counts == {"open_qa": len(out)}
    data = records(snapshot_storage, snapshot)
    assert [r["instruction"] for r in data] == [entry.instruction for entry in out]
    # The rule's one home says the same of each entry, and the manifest and card say its words.
    assert [holds.entry_held_back(e) for e in [*out, *held]] == [False] * 4 + [True] * 5
    manifest = json.loads(read(snapshot_storage, snapshot, "manifest.json"))
    assert manifest["filters"]["excluded"] == holds.RULE_TEXT
    assert holds.RULE_TEXT in read(snapshot_storage, snapshot, "README.md").decode()


def test_the_rescans_run_first_and_keep_one_copy_of_a_duplicate(writer, alice, snapshot_storage):
    annotation.agreement_accept(user=alice)
    answer = "Red, yellow and blue are the primary colours of traditional colour theory."
    original = accepted(writer, instruction="Primary colours?", response=answer)
    copy = accepted(alice, instruction="Primary colours?", response=answer)
    chatbot = accepted(writer, response="As an AI language model, I think it is blue.")
    unagreed = accepted(UserFactory(username="newcomer"), instruction="Never agreed?")
    snapshot = build(rescan=True)
    assert snapshot.status == SnapshotStatus.READY, snapshot.error
    exported = [r["instruction"] for r in records(snapshot_storage, snapshot)]
    assert exported == [original.instruction]
    assert Flag.objects.get(entry=copy).kind == FlagKind.EXACT_DUPLICATE
    assert Flag.objects.get(entry=chatbot).kind == FlagKind.AI_TEXT
    assert Flag.objects.get(entry=unagreed).kind == FlagKind.NO_AGREEMENT


def test_filters_categories_approvals_and_imported_sources(writer, snapshot_storage):
    accepted(writer, instruction="Open?")
    brainstorm = accepted(writer, category=category("brainstorming"), instruction="Ideas?")
    Decision.objects.filter(entry=brainstorm).update(approvals=3)
    source = Source.objects.create(name="dolly", license="cc-by-sa-3.0", url="https://x.org")
    EntryFactory(author=None, source=source, status=EntryStatus.ACCEPTED, instruction="Imp?")

    only = build(categories=["brainstorming"])
    assert [r["instruction"] for r in records(snapshot_storage, only)] == ["Ideas?"]
    three = build(min_approvals=3)
    assert [r["instruction"] for r in records(snapshot_storage, three)] == ["Ideas?", "Imp?"]
    mine = build(include_imported=False)
    assert [r["instruction"] for r in records(snapshot_storage, mine)] == ["Open?", "Ideas?"]
    everything = build()
    assert everything.record_count == 3
    card = read(snapshot_storage, everything, "README.md").decode()
    assert "1 record comes from dolly (<https://x.org/>), licensed cc-by-sa-3.0." in card
    assert "2 records were written by 1 contributor of" in card


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"categories": ["poetry"]}, "categories"),
        ({"categories": "open_qa"}, None),
        ({"min_approvals": -1}, "min_approvals"),
        ({"min_approvals": "two"}, "min_approvals"),
        ({"min_approvals": 1.5}, "min_approvals"),
        ({"include_imported": "maybe"}, "include_imported"),
        ({"validation_percent": 80}, "validation_percent"),
        ({"validation_percent": "ten"}, "validation_percent"),
    ],
)
def test_bad_options_are_refused_with_a_message_naming_them(options, field):
    if field is None:
        assert services.SnapshotOptions.parse(options).categories == ["open_qa"]
        return
    with pytest.raises(ValidationError) as refused:
        services.SnapshotOptions.parse(options)
    assert list(refused.value.message_dict) == [field]


def test_the_split_is_by_entry_id_and_stable_across_snapshots(writer, snapshot_storage):
    first_batch = [accepted(writer, instruction=f"First {n}?") for n in range(60)]
    before = build(validation_percent=20)
    names = [f["name"] for f in before.files]
    assert names == [
        "data.jsonl",
        "train.jsonl",
        "validation.jsonl",
        "data/train-00000-of-00001.parquet",
        "data/validation-00000-of-00001.parquet",
        "metadata.parquet",
        "README.md",
        "manifest.json",
    ]
    train = records(snapshot_storage, before, "train.jsonl")
    validation = records(snapshot_storage, before, "validation.jsonl")
    assert len(train) + len(validation) == 60
    assert sorted(map(json.dumps, train + validation)) == sorted(
        map(json.dumps, records(snapshot_storage, before))
    )
    assert 0 < len(validation) < 30
    held_out = {r["instruction"] for r in validation}
    for n in range(60):
        accepted(writer, instruction=f"Second {n}?")
    after = build(validation_percent=20)
    later = {r["instruction"] for r in records(snapshot_storage, after, "validation.jsonl")}
    assert held_out == {i for i in later if i.startswith("First")}
    assert {e.instruction for e in first_batch if dolly.in_validation(e.pk, 20)} == held_out


def test_the_split_share_follows_the_percentage():
    share = sum(dolly.in_validation(n, 10) for n in range(1, 20_001)) / 20_000
    assert 0.09 < share < 0.11
    assert not any(dolly.in_validation(n, 0) for n in range(1, 1_000))


def test_the_dataset_card_has_hugging_face_front_matter(writer, snapshot_storage):
    accepted(
        writer,
        category=category("summarization"),
        instruction="Summarise this.",
        context="A long passage. " * 20,
        source_url="https://en.wikipedia.org/wiki/Passage",
    )
    snapshot = build()
    card = read(snapshot_storage, snapshot, "README.md").decode()
    assert card.startswith("---\n")
    front = yaml.safe_load(card.split("---\n")[1])
    assert front["license"] == "cc-by-sa-3.0"
    assert front["language"] == ["en"]
    assert front["task_categories"] == ["summarization"]
    assert front["size_categories"] == ["n<1K"]
    assert "1 reference passage comes from Wikipedia" in card
    assert "| summarization | 1 | 1 |" in card


def test_the_manifest_checksums_match_the_stored_files(writer, snapshot_storage, dana):
    accepted(writer)
    snapshot = build(user=dana, validation_percent=10)
    manifest = json.loads(read(snapshot_storage, snapshot, "manifest.json"))
    assert manifest["version"] == snapshot.version
    assert manifest["built_by_person"] is True and "dana" not in json.dumps(manifest)
    assert manifest["record_count"] == 1
    assert manifest["category_counts"] == {"open_qa": 1}
    assert manifest["filters"]["validation_percent"] == 10
    listed = {item["name"]: item for item in manifest["files"]}
    assert set(listed) == {
        "data.jsonl",
        "train.jsonl",
        "validation.jsonl",
        "data/train-00000-of-00001.parquet",
        "data/validation-00000-of-00001.parquet",
        "metadata.parquet",
        "README.md",
    }
    for name, item in listed.items():
        data = read(snapshot_storage, snapshot, name)
        assert (item["size"], item["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    # The row records the manifest too, and every file in the directory is a recorded one.
    for item in snapshot.files:
        data = read(snapshot_storage, snapshot, item["name"])
        assert item["sha256"] == hashlib.sha256(data).hexdigest()
    # Beside them only the gzipped tar, which no tar can hold (Snapshot.archive_gz names it).
    folder = snapshot_storage / snapshot.directory
    on_disk = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert on_disk == sorted([*(item["name"] for item in snapshot.files), "v0001.tar.gz"])
    assert snapshot.archive_gz["name"] == "v0001.tar.gz"


def test_the_manifest_says_what_changed_since_the_parent(writer, snapshot_storage):
    stays, edited, dropped = (accepted(writer, instruction=f"{n}?") for n in "abc")
    first = build()
    assert json.loads(read(snapshot_storage, first, "manifest.json"))["changes"] == {
        "added": [stays.pk, edited.pk, dropped.pk],
        "removed": [],
        "changed": [],
    }
    Entry.objects.filter(pk=edited.pk).update(response="A moderator's better answer.")
    Flag.objects.create(
        entry=dropped, kind=FlagKind.PERSONAL_DATA, blocking=True, evidence_key="phone"
    )
    new = accepted(writer, instruction="d?")
    build(categories=["open_qa"])  # other options: a snapshot of another series
    second = build()
    manifest = json.loads(read(snapshot_storage, second, "manifest.json"))
    assert manifest["parent"] == first.version
    assert manifest["changes"] == {
        "added": [new.pk],
        "removed": [dropped.pk],
        "changed": [edited.pk],
    }
    assert second.changes == {"added": 1, "removed": 1, "changed": 1}
    assert second.parent_id == first.pk


class BreaksOnTheCard(FileSystemStorage):
    """Local disk that fails to store README.md: a build that fails after storing files."""

    def _save(self, name, content):
        if name.endswith("README.md"):
            raise OSError("disk full")
        return super()._save(name, content)


def test_a_build_that_fails_midway_leaves_nothing_and_can_be_retried(
    writer, dana, settings, snapshot_storage
):
    accepted(writer)
    settings.STORAGES = {
        **settings.STORAGES,
        "snapshots": {
            "BACKEND": f"{__name__}.BreaksOnTheCard",
            "OPTIONS": {"location": str(snapshot_storage)},
        },
    }
    snapshot = build(user=dana)
    assert snapshot.status == SnapshotStatus.FAILED
    assert "disk full" in snapshot.error
    assert snapshot.files == [] and snapshot.file("data.jsonl") is None
    assert not any(snapshot_storage.rglob("*.*"))  # data.jsonl was stored, then removed
    assert not any(Path(settings.FLOCK_SNAPSHOT_SPOOL_DIR).rglob("*.*"))
    assert services.snapshot_waiting() is None

    settings.STORAGES = {
        **settings.STORAGES,
        "snapshots": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(snapshot_storage)},
        },
    }
    services.snapshot_retry(snapshot=snapshot, user=dana)  # start once this test's "commit"...
    retried = services.snapshot_build(snapshot_id=snapshot.pk, rescan=False)  # ...here, in-process
    assert (retried.pk, retried.version, retried.status) == (snapshot.pk, 1, SnapshotStatus.READY)
    assert retried.attempts == 2
    assert Snapshot.objects.count() == 1
    with pytest.raises(Exception, match="Only a failed snapshot"):
        services.snapshot_retry(snapshot=retried, user=dana)


def test_asking_again_with_the_same_key_returns_the_same_snapshot(dana, alice):
    first, created = services.snapshot_request(user=dana, request_key="k1", start=False)
    again, created_again = services.snapshot_request(user=dana, request_key="k1", start=False)
    assert (created, created_again, again.pk) == (True, False, first.pk)
    other, _ = services.snapshot_request(user=dana, request_key="k2", start=False)
    assert other.version == first.version + 1
    with pytest.raises(Exception, match="data scientists"):
        services.snapshot_request(user=alice, request_key="k3", start=False)


def test_a_snapshot_being_built_makes_the_next_one_wait(dana):
    running, _ = services.snapshot_request(user=dana, request_key="a", start=False)
    Snapshot.objects.filter(pk=running.pk).update(
        status=SnapshotStatus.RUNNING, heartbeat_at=timezone.now(), job_id="job-a"
    )
    waiting, _ = services.snapshot_request(user=dana, request_key="b", start=False)
    with pytest.raises(services.SnapshotBusy):
        services.snapshot_build(snapshot_id=waiting.pk, rescan=False)
    assert Snapshot.objects.get(pk=waiting.pk).status == SnapshotStatus.PENDING
    # Another job for the one running does nothing; its own job, redelivered, waits its turn.
    assert (
        services.snapshot_build(snapshot_id=running.pk, job_id="job-x").status
        == SnapshotStatus.RUNNING
    )
    with pytest.raises(services.SnapshotBusy):
        services.snapshot_build(snapshot_id=running.pk, job_id="job-a")


def test_a_build_whose_worker_died_is_taken_over_or_marked_failed(writer, dana):
    accepted(writer)
    lost, _ = services.snapshot_request(user=dana, request_key="lost", start=False)
    stale = timezone.now() - services.snapshots.STALE_AFTER - timedelta(seconds=1)
    Snapshot.objects.filter(pk=lost.pk).update(
        status=SnapshotStatus.RUNNING, heartbeat_at=stale, attempts=1, job_id="job-lost"
    )
    # Its own job, redelivered once the heartbeat is stale, builds it.
    rebuilt = services.snapshot_build(snapshot_id=lost.pk, rescan=False, job_id="job-lost")
    assert (rebuilt.status, rebuilt.attempts) == (SnapshotStatus.READY, 2)
    # A stale build of another snapshot no longer blocks the next one: it is marked failed.
    other, _ = services.snapshot_request(user=dana, request_key="other", start=False)
    Snapshot.objects.filter(pk=other.pk).update(status=SnapshotStatus.RUNNING, heartbeat_at=stale)
    nxt, _ = services.snapshot_request(user=dana, request_key="next", start=False)
    assert services.snapshot_build(snapshot_id=nxt.pk, rescan=False).status == SnapshotStatus.READY
    other.refresh_from_db()
    assert other.status == SnapshotStatus.FAILED and "interrupted" in other.error
    services.snapshot_retry(snapshot=other, user=dana)  # and can be built again


def test_a_pending_snapshot_whose_job_never_started_can_be_queued_again(dana):
    snapshot, _ = services.snapshot_request(user=dana, start=False)
    minutes = services.STALE_AFTER.seconds // 60
    with pytest.raises(Exception, match=f"has not started for {minutes} minutes"):
        services.snapshot_retry(snapshot=snapshot, user=dana)
    Snapshot.objects.filter(pk=snapshot.pk).update(
        created_at=timezone.now() - services.STALE_AFTER - timedelta(minutes=1)
    )
    assert services.snapshot_retry(snapshot=snapshot, user=dana).status == "pending"


def test_the_archive_holds_every_file_and_its_checksum_is_the_streams(writer, snapshot_storage):
    import io
    import tarfile

    accepted(writer)
    snapshot = build()
    stream = b"".join(
        dolly.archive_stream(
            folder=snapshot.directory,
            members=[(f["name"], f["size"]) for f in snapshot.files],
            opener=dolly.storage_opener(services.snapshot_storage(), snapshot.directory),
            mtime=snapshot.archive["mtime"],
        )
    )
    assert hashlib.sha256(stream).hexdigest() == snapshot.archive["sha256"]
    assert len(stream) == snapshot.archive["size"]
    with tarfile.open(fileobj=io.BytesIO(stream)) as tar:
        names = [m.name for m in tar.getmembers()]
        assert names == [f"v0001/{f['name']}" for f in snapshot.files]
        data = tar.extractfile("v0001/data.jsonl").read()
    assert data == read(snapshot_storage, snapshot, "data.jsonl")


def test_the_file_loads_with_hugging_face_datasets(writer, snapshot_storage, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    import datasets

    accepted(writer, instruction="Où est la tour Eiffel ?", response="À Paris.")
    accepted(
        writer,
        category=category("closed_qa"),
        instruction="When?",
        context="Built in 1889.",
        source_url="https://en.wikipedia.org/wiki/Eiffel_Tower",
        response="1889.",
    )
    for n in range(20):  # enough that neither half of the split is empty
        accepted(writer, instruction=f"Question {n}?")
    snapshot = build(validation_percent=50)
    folder = snapshot_storage / snapshot.directory
    loaded = datasets.load_dataset(
        "json", data_files=str(folder / "data.jsonl"), cache_dir=str(tmp_path / "cache")
    )["train"]
    assert loaded.column_names == ["instruction", "context", "response", "category"]
    assert loaded.num_rows == 22
    assert loaded[0] == {
        "instruction": "Où est la tour Eiffel ?",
        "context": "",
        "response": "À Paris.",
        "category": "open_qa",
    }
    split = datasets.load_dataset(
        "json",
        data_files={
            "train": str(folder / "train.jsonl"),
            "validation": str(folder / "validation.jsonl"),
        },
        cache_dir=str(tmp_path / "cache"),
    )
    assert split["train"].num_rows + split["validation"].num_rows == 22


@pytest.mark.django_db(transaction=True)
def test_a_worker_build_on_postgresql_streams_exact_records_and_reports_progress(
    seeded, snapshot_storage, monkeypatch
):
    """Outside a transaction (as in a worker) the rows stream through a server-side cursor
    while progress is written on the same connection; every record is json.dumps' bytes."""
    if connection.vendor != "postgresql":
        pytest.skip("a server-side cursor outside a transaction is PostgreSQL's")
    writer = UserFactory(username="writer")
    annotation.agreement_accept(user=writer)
    texts = [
        'Quotes " and backslashes \\ and \\u00e9 written out',
        "Controls \x01\x1f\x7f, tab\t, CR\r, LF\n, separators \u2028\u2029",
        "Non-ASCII: naïve café, 東京, 🐑, Ωmega",
        "Delimiters of COPY itself: \x1e\x1f, a comma, and a ; semicolon",
    ]
    entries = [
        accepted(
            writer,
            category=category("closed_qa"),
            instruction=text,
            context=text,
            # Stored before URLs with control characters were refused: a build must survive them.
            source_url="https://de.wikipedia.org/wiki/X\x1fY\x1e\nZ",
            response=text[::-1],
        )
        for text in texts
    ]
    monkeypatch.setattr("exports.services.snapshots.rows.CHUNK_ROWS", 1)
    seen = []
    snapshot, _ = services.snapshot_request(user=None, start=False)
    built = services.snapshot_build(
        snapshot_id=snapshot.pk, rescan=False, on_progress=lambda percent, stage: seen.append(stage)
    )
    assert built.status == SnapshotStatus.READY, built.error
    lines = read(snapshot_storage, built, "data.jsonl").split(b"\n")[:-1]
    for entry, line in zip(entries, lines, strict=True):
        record = {
            "instruction": entry.instruction,
            "context": entry.context,
            "response": entry.response,
            "category": "closed_qa",
        }
        assert line.decode() == json.dumps(record, ensure_ascii=False)
    # Each record's digest is the md5 of its line (the diff compares them).
    pairs = np.frombuffer(Snapshot.objects.get(pk=built.pk).digest, dtype=DIGEST_DTYPE)
    assert pairs["id"].tolist() == [entry.pk for entry in entries]
    assert pairs["digest"].tolist() == [dolly.record_digest(line) for line in lines]
    assert [s for s in seen if s.startswith("Writing")] == [
        f"Writing {n} of 4 records" for n in range(5)
    ]
    lengths = built.stats["fields"]["instruction"]
    assert (lengths["max"], lengths["count"]) == (max(map(len, texts)), 4)
    # Such a URL is no web address by today's rule (annotation.sources): not credited to Wikipedia.
    assert built.stats["passages"] == [{"domain": NOT_A_WEB_ADDRESS, "count": 4}]


def test_the_rescan_closes_duplicate_flags_no_cluster_supports(writer, snapshot_storage):
    answer = "Red, yellow and blue are the primary colours of traditional colour theory."
    original = accepted(writer, instruction="Primary colours?", response=answer)
    copy = accepted(writer, instruction="Primary colours?", response=answer)
    quality_services.duplicates_rescan()
    assert Flag.objects.get(entry=copy, status=FlagStatus.OPEN).duplicate_of_id == original.pk
    assert build().record_count == 1
    original.response = "Something else entirely, rewritten."
    original.save()  # as a moderator's edit does: the rescan before the build looks at it
    snapshot = build(rescan=True)
    assert Flag.objects.get(entry=copy).status == FlagStatus.CLOSED
    assert snapshot.record_count == 2


@pytest.mark.django_db(transaction=True)
def test_racing_requests_get_one_snapshot_per_key_and_distinct_versions(seeded, dana):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's concurrent transactions")
    keys = ["same"] * 4 + ["a", "b", "c", "d"]
    barrier = threading.Barrier(len(keys))
    made: list[tuple[str, int]] = []

    def ask(key: str) -> None:
        try:
            barrier.wait()
            snapshot, _ = services.snapshot_request(user=dana, request_key=key, start=False)
            made.append((key, snapshot.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == len(keys)
    assert Snapshot.objects.count() == 5
    assert sorted(Snapshot.objects.values_list("version", flat=True)) == [1, 2, 3, 4, 5]
    assert len({pk for key, pk in made if key == "same"}) == 1


def _fixed_without_the_agreement(entry: Entry, fixer) -> None:
    """What the audit found (finding 1), as a database from before the fix holds it: a reviewer
    without the contributor agreement replaced the response with her own text."""
    from annotation.services.entries import revision_record

    revision_record(entry=entry, author=entry.author)
    entry.response = "A whole new answer, written by the reviewer in her own words."
    entry.save(update_fields=["response"])
    revision_record(entry=entry, author=fixer)


def test_text_fixed_by_someone_without_the_agreement_is_never_released(
    writer, snapshot_storage, dave
):
    kept = accepted(writer, instruction="Name a primary colour.", response="Red.")
    fixed = accepted(writer, instruction="What is the capital of Italy?", response="Rome.")
    _fixed_without_the_agreement(fixed, dave)
    annotation.agreement_accept(user=dave)  # accepting later does not cover earlier words

    snapshot = build(rescan=True)
    assert [r["instruction"] for r in records(snapshot_storage, snapshot)] == [kept.instruction]
    flag = Flag.objects.get(entry=fixed, kind=FlagKind.NO_AGREEMENT)
    assert "Revision 2, a reviewer's fix" in flag.evidence and holds.entry_held_back(fixed)
    card = read(snapshot_storage, snapshot, "README.md").decode()
    assert "under a contributor agreement" in card
