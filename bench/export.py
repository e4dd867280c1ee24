"""Benchmark an export snapshot build beside PostgreSQL's own COPY of the same rows.

Fills a throwaway PostgreSQL test database (DATABASE_URL) with RECORDS accepted entries of
databricks-dolly-15k sizes, their authors' agreements and the duplicate index (as a site that
indexes each entry on submission has it), then prints:

- the floor: `COPY (SELECT row_to_json(…)) TO STDOUT` of the same rows, read into a file;
- snapshot builds (default options, no rescans), each in a fresh process, with the modules a
  worker loads (its tasks: pandas and pyarrow among them), so that its peak RSS is the build's
  own: wall time around snapshot_build, peak RSS, the files, checked line by line
  (the Parquet shards against data.jsonl record by record, metadata.parquet a row per record with
  the seeded review figures, the gzipped tar gunzipped against the tar's recorded sha256);
- the whole job including the quality rescans, stage by stage: first with full rescans (no
  earlier run), then after 1% of the entries changed, three times (only those are rescanned);

and whether the targets hold (2 cores): a build's process under 200 MB; the first job no slower
than the 34 s the job took when every snapshot rescanned everything; a job after 1% changed
within 5 s, 500 MB and a quarter of the first. The build's time against COPY's is printed for
reference (its old 2x target needed PostgreSQL to write the records; see docs/benchmarks.md).

    DATABASE_URL=postgres://… .venv/bin/python -m bench.export [--records 150000] [--builds 3]
        [--skip-job] [--profile]

With --profile, BENCH_PROFILE_OUT=<file> also saves the whole profile (pstats, snakeviz).
"""

import argparse
import contextlib
import cProfile
import gzip
import hashlib
import json
import os
import pstats
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pyarrow.parquet as pq

from bench.common import (  # sets Django up: import it first
    throwaway_database,
    throwaway_database_url,
)

# isort: split
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from annotation.models import (
    AgreementAcceptance,
    Category,
    ContributorAgreement,
    Decision,
    Entry,
    EntryStatus,
    Flag,
    Review,
)
from config.celery import app as celery_app
from exports.models import Snapshot
from exports.services import snapshot_build, snapshot_request
from leaderboard.models import Contest
from quality import dedupe
from quality.models import Bucket, Fingerprint

RUNS = 3
CHANGED_RUNS = 3  # jobs after 1% changed
# The whole job at 150k before the rescans looked only at what changed (c50acd8..8a21c93).
BEFORE_FULL_JOB_S = 34.0
AUTHORS = 300
TARGET_MB = 200  # peak RSS of the build process
COPY_SQL = (
    "COPY (SELECT row_to_json(t) FROM (SELECT e.instruction, e.context, e.response, "
    "c.slug AS category FROM annotation_entry e JOIN annotation_category c ON c.id = e.category_id "
    "WHERE e.status = 'accepted' ORDER BY e.id) t) TO STDOUT"
)

# --- Dolly-like data ---------------------------------------------------------------------------


def _words(block: str) -> list[str]:
    return block.split()


# databricks-dolly-15k's records per category; three of them come with a Wikipedia passage.
DOLLY_COUNTS = {
    "open_qa": 3742,
    "general_qa": 2191,
    "classification": 2136,
    "closed_qa": 1773,
    "brainstorming": 1766,
    "information_extraction": 1506,
    "summarization": 1188,
    "creative_writing": 709,
}
WITH_CONTEXT = {"closed_qa", "information_extraction", "summarization"}
QUESTIONS = {"open_qa", "general_qa", "closed_qa"}
# Characters per field: lognormal (mean, sigma), clipped to (least, most). Dolly's instructions
# average ~70 characters, its responses ~360 with a long tail, and its passages (~30% of
# records) ~1,200 when present (~360 over all records; the file is ~870 bytes a record).
LENGTHS = {
    "instruction": (72, 0.55, 12, 4_000),
    "context": (1_200, 0.85, 60, 25_000),
    "response": (360, 1.0, 2, 12_000),
}
COMMON_WORDS = _words("""
the of and to a in is was that for it as with by on his be are from at which an this or were
has had not its they their have but one first also he been after who more new two other all she
her time into during most only some years when can there would between year many over about
later world used such these up city three known national state under where while both each part
well school than made may film since then through however same team several became called four
number area north south around war history family left because water people large early
including small season being long work government main based american century found best public
series country named river music company game album university began song band record club
league house church town party members held life second end death released won village role home
line group book land form five play place system population including region high major french
english german league station island language island river king early around title played
""")
CONTENT_WORDS = _words("""
harvest lantern orbit glacier meadow quarry falcon granite compass harbor violin saddle tundra
canyon cipher ember fjord gallery hollow ivory jasmine kettle lagoon marble nectar oasis pebble
quartz ribbon summit thistle umber valley willow zephyr anchor beacon cobalt dune estuary fresco
gazelle horizon inlet juniper kiln ledger monsoon nomad opal prairie quiver relic sonnet tributary
upland vessel wharf yarrow alloy basalt cedar delta engine fossil geyser hamlet iris jetty keel
lichen mosaic nebula osprey pigment quay rampart steppe tapestry utensil vineyard walrus atlas
bishop crater dynasty empire frontier galaxy heritage isotope journal kingdom lexicon manuscript
novel opera parliament quantum republic satellite theorem union voyage archive ballad treaty
composer senate protein enzyme molecule algorithm protocol theorem mineral volcano rainforest
migration photosynthesis cathedral symphony orchestra philosopher telescope microscope battery
turbine currency inflation mortgage election tournament championship referee goalkeeper recipe
""")
# Names and words with accents, other scripts, symbols and quotes: 0.3% of the words, so about
# a third of the records have some non-ASCII text.
NON_ASCII_SHARE = 0.003
NON_ASCII = _words("""
café naïve Zürich Malmö São Paulo Dvořák Erdős Kraków Bogotá Reykjavík Ångström façade résumé
jalapeño piñata Düsseldorf Łódź Škoda Tromsø Gödel Poincaré Schrödinger Ibáñez Nuñez Müller
Ελλάδα Αθήνα Москва Санкт-Петербург 東京 大阪 北京 서울 हिन्दी العربية שלום Ω° 25°C €5 £3 ±2
— – … “quoted” ‘single’ naïveté coöperate Māori Hawaiʻi
""")
TAIL_WORDS = 30_000  # made-up words after the real ones: a vocabulary of prose size


def _vocabulary(rng: random.Random) -> tuple[np.ndarray, np.ndarray]:
    """Words and their cumulative Zipf weights (common words first, as in prose)."""
    onsets = _words("b c d f g h j k l m n p r s t v w br cl dr fl gr pl st tr ch sh th")
    nuclei = _words("a e i o u ai ea ou io")
    codas = ["", "", "n", "r", "s", "l", "t", "nd", "rk", "st", "m", "ng"]
    seen = set(COMMON_WORDS) | set(CONTENT_WORDS)
    tail = []
    while len(tail) < TAIL_WORDS:
        word = "".join(
            rng.choice(onsets) + rng.choice(nuclei) + rng.choice(codas)
            for _ in range(rng.choice((1, 1, 2, 2, 3)))
        )
        if word not in seen:
            seen.add(word)
            tail.append(word)
    words = list(dict.fromkeys([*COMMON_WORDS, *CONTENT_WORDS])) + tail
    ranks = np.arange(1, len(words) + 1, dtype=np.float64)
    return np.array(words, dtype=object), np.cumsum(1.0 / ranks)


class DollyText:
    """Prose of a given length in characters: Zipf-distributed words in sentences, with some
    numbers, non-ASCII words, quotes and (in passages) citation marks and paragraphs."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.np_rng = np.random.default_rng(seed)
        self.words, self.cumulative = _vocabulary(self.rng)
        probabilities = np.diff(self.cumulative, prepend=0.0) / self.cumulative[-1]
        self.chars_per_word = float(
            (np.array([len(w) for w in self.words]) * probabilities).sum() + 1
        )

    def lengths(self, mean: float, sigma: float, least: int, most: int, n: int) -> np.ndarray:
        mu = np.log(mean) - sigma**2 / 2
        return np.clip(self.np_rng.lognormal(mu, sigma, n), least, most).astype(np.int64)

    def word_lists(self, chars: np.ndarray) -> list[list[str]]:
        counts = np.maximum(1, np.rint(chars / self.chars_per_word)).astype(np.int64)
        drawn = np.searchsorted(
            self.cumulative, self.np_rng.random(int(counts.sum())) * self.cumulative[-1]
        )
        tokens = self.words[np.minimum(drawn, len(self.words) - 1)]
        special = self.np_rng.random(len(tokens))
        odd = special < NON_ASCII_SHARE
        tokens[odd] = self.np_rng.choice(NON_ASCII, int(odd.sum()))
        numbers = (special >= NON_ASCII_SHARE) & (special < NON_ASCII_SHARE + 0.005)
        tokens[numbers] = [str(n) for n in self.np_rng.integers(2, 2024, int(numbers.sum()))]
        tokens = tokens.tolist()
        ends = np.cumsum(counts).tolist()
        return [tokens[start:end] for start, end in zip([0, *ends[:-1]], ends, strict=True)]

    def prose(self, words: list[str], *, end: str = ".", passage: bool = False, lists=False):
        rng = self.rng
        sentences, at = [], 0
        while at < len(words):
            part = words[at : at + rng.randint(6, 22)]
            at += len(part)
            roll = rng.random()
            if roll < 0.03:
                spot = rng.randrange(len(part))
                part[spot] = f'"{part[spot]}"'
            elif roll < 0.05:
                spot = rng.randrange(len(part))
                part[spot] = f"“{part[spot]}”"
            if len(part) > 8 and rng.random() < 0.4:
                spot = rng.randrange(2, len(part) - 2)
                part[spot] += ","
            text = " ".join(part)
            text = text[0].upper() + text[1:] + (end if at >= len(words) else ".")
            if passage and rng.random() < 0.1:
                text += f"[{rng.randint(1, 40)}]"
            sentences.append(text)
        if lists and len(sentences) > 1:
            return "\n".join(f"- {s}" for s in sentences)
        if passage:
            paragraphs = [
                " ".join(sentences[k : k + rng.randint(3, 7)]) for k in range(0, len(sentences), 5)
            ]
            return "\n\n".join(paragraphs)
        return " ".join(sentences)

    def url(self) -> str:
        title = "_".join(
            w[0].upper() + w[1:]
            for w in self.rng.choices(self.words[:3_000].tolist(), k=self.rng.randint(1, 3))
        )
        return f"https://en.wikipedia.org/wiki/{quote(title, safe='_()')}"


def make_records(count: int, seed: int = 15_011) -> list[tuple[str, str, str, str, str]]:
    """(category slug, instruction, context, response, source_url) in Dolly's proportions."""
    text = DollyText(seed)
    slugs = list(DOLLY_COUNTS)
    weights = np.array(list(DOLLY_COUNTS.values()), dtype=np.float64)
    categories = [
        slugs[i] for i in text.np_rng.choice(len(slugs), count, p=weights / weights.sum())
    ]
    with_context = [slug in WITH_CONTEXT for slug in categories]
    words = {
        name: text.word_lists(text.lengths(*LENGTHS[name], n))
        for name, n in (
            ("instruction", count),
            ("context", sum(with_context)),
            ("response", count),
        )
    }
    contexts = iter(words["context"])
    records = []
    for n, slug in enumerate(categories):
        instruction = text.prose(words["instruction"][n], end="?" if slug in QUESTIONS else ".")
        context = text.prose(next(contexts), passage=True) if with_context[n] else ""
        response = text.prose(
            words["response"][n], lists=slug in ("brainstorming", "classification")
        )
        records.append((slug, instruction, context, response, text.url() if context else ""))
    return records


def _shape(records) -> str:
    parts = []
    for column, name in ((1, "instruction"), (2, "context"), (3, "response")):
        lengths = np.array([len(r[column]) for r in records if r[column]])
        parts.append(
            f"{name} mean {lengths.mean():,.0f} / median {np.median(lengths):,.0f} / "
            f"p99 {np.percentile(lengths, 99):,.0f} / max {lengths.max():,}"
        )
    share = sum(1 for r in records if r[2]) / len(records)
    non_ascii = sum(1 for r in records if not (r[1] + r[2] + r[3]).isascii()) / len(records)
    return (
        "; ".join(parts)
        + f" characters; {share:.0%} with a passage; {non_ascii:.0%} with non-ASCII text"
    )


# --- Seeding ------------------------------------------------------------------------------------


def _copy_rows(table: str, columns: tuple[str, ...], rows) -> None:
    connection.ensure_connection()
    with (
        connection.connection.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def seed(records, authors_count: int = AUTHORS) -> list[int]:
    """Authors who accepted the agreement a year ago, then the entries (COPY), accepted over the
    year since; returns their ids in order."""
    User = get_user_model()
    now = timezone.now()
    authors = User.objects.bulk_create(
        [User(username=f"writer{i}", email=f"writer{i}@example.com") for i in range(authors_count)],
        batch_size=5_000,
    )
    agreement = ContributorAgreement.objects.order_by("published_at").first()
    ContributorAgreement.objects.filter(pk=agreement.pk).update(
        published_at=now - timedelta(days=400)
    )
    AgreementAcceptance.objects.bulk_create(
        [AgreementAcceptance(user=author, agreement=agreement) for author in authors],
        batch_size=5_000,
    )
    AgreementAcceptance.objects.update(accepted_at=now - timedelta(days=390))
    category_ids = dict(Category.objects.values_list("slug", "pk"))
    first = now - timedelta(days=365)
    step = timedelta(days=365) / len(records)
    columns = (
        "author_id",
        "category_id",
        "status",
        "instruction",
        "context",
        "response",
        "source_url",
        "import_key",
        "created_at",
        "updated_at",
        "submitted_at",
        "decided_at",
        "review_round",
        "review_count",
        "revision_count",
    )

    def rows():
        rng = random.Random(3)
        author_ids = [author.pk for author in authors]
        shares = np.cumsum(1 / np.arange(1, authors_count + 1)).tolist()  # a few write the most
        for n, (slug, instruction, context, response, url) in enumerate(records):
            submitted = first + step * n
            # Decided before now: the rescans look at what changed since their last run.
            decided = min(submitted + timedelta(hours=rng.uniform(1, 72)), now)
            yield (
                rng.choices(author_ids, cum_weights=shares)[0],
                category_ids[slug],
                EntryStatus.ACCEPTED.value,
                instruction,
                context,
                response,
                url,
                "",
                submitted - timedelta(minutes=20),
                decided,
                submitted,
                decided,
                1,
                2,
                0,
            )

    with _index_built_after("entry_text_trgm"):
        _copy_rows(Entry._meta.db_table, columns, rows())
    return list(Entry.objects.order_by("pk").values_list("pk", flat=True))


@contextlib.contextmanager
def _index_built_after(name: str):
    """Drop an index for a bulk load and build it again after, as a restore does: the entries'
    trigram index (moderators' search) made a COPY of a million entries take 12 minutes, row by
    row, where building it once takes a fraction of that."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [name])
        found = cursor.fetchone()
        if found:
            cursor.execute(f"DROP INDEX {name}")
    try:
        yield
    finally:
        if found:
            with connection.cursor() as cursor:
                cursor.execute("SET maintenance_work_mem = '1GB'")
                cursor.execute(found[0])
                cursor.execute("RESET maintenance_work_mem")


def seed_reviews(reviewers: int = 20) -> None:
    """What accepted entries have: the decision of their round (two approvals, or three to one)
    and its counting reviews by two or four other writers (of the first `reviewers`), and the
    weekly contests of the year, so that metadata.parquet's figures are read as on a real site."""
    rng = random.Random(5)
    author_ids = list(get_user_model().objects.values_list("pk", flat=True))
    entries = list(
        Entry.objects.filter(status=EntryStatus.ACCEPTED)
        .order_by("pk")
        .values_list("pk", "author_id", "decided_at")
    )
    pool = author_ids[:reviewers]

    def decisions():
        for pk, _author, decided in entries:
            split = pk % 5 == 0
            yield (pk, 1, "accepted", "", 3 if split else 2, 1 if split else 0, decided)

    def reviews():
        for pk, author, decided in entries:
            others = rng.sample(pool, 5)
            others = [a for a in others if a != author][:4]
            verdicts = (
                ["approve", "approve", "approve", "reject"] if pk % 5 == 0 else ["approve"] * 2
            )
            for reviewer, verdict in zip(others, verdicts, strict=False):
                rating = rng.randint(3, 5) if verdict == "approve" else rng.randint(1, 2)
                yield (pk, reviewer, 1, verdict, rating, "[]", "", True, decided)

    _copy_rows(
        Decision._meta.db_table,
        ("entry_id", "round", "outcome", "reason", "approvals", "rejections", "created_at"),
        decisions(),
    )
    _copy_rows(
        Review._meta.db_table,
        (
            "entry_id",
            "reviewer_id",
            "round",
            "verdict",
            "rating",
            "reasons",
            "comment",
            "counts",
            "created_at",
        ),
        reviews(),
    )
    start = timezone.now() - timedelta(days=371)
    Contest.objects.bulk_create(
        [
            Contest(
                name=f"Week {n + 1}",
                starts_at=start + timedelta(weeks=n),
                ends_at=start + timedelta(weeks=n + 1),
                grace_ends_at=start + timedelta(weeks=n + 1, hours=48),
            )
            for n in range(53)
        ]
    )


def seed_index(ids: list[int], records) -> None:
    """The duplicate index rows each entry got when it was submitted (what _index writes)."""
    rows = [(pk, r[1], r[2], r[3]) for pk, r in zip(ids, records, strict=True)]
    corpus = dedupe.corpus_parallel(rows)
    now = timezone.now()
    _copy_rows(
        Fingerprint._meta.db_table,
        ("entry_id", "exact_hash", "signature", "rules", "keys", "updated_at"),
        (
            (
                int(corpus.ids[r]),
                corpus.exact[r],
                corpus.signatures[r].tobytes(),
                dedupe.RULES_VERSION,
                dedupe.keys_packed(corpus.keys[r]),
                now,
            )
            for r in range(len(corpus.ids))
        ),
    )
    _copy_rows(
        Bucket._meta.db_table,
        ("fingerprint_id", "key"),
        (
            (int(corpus.ids[r]), key)
            for r in range(len(corpus.ids))
            for key in sorted(set(corpus.keys[r].tolist()))
        ),
    )


def vacuum() -> None:
    """As autovacuum would leave them: statistics, visibility map and hint bits set."""
    with connection.cursor() as cursor:
        for model in (Entry, Fingerprint, Bucket, Category, AgreementAcceptance, get_user_model()):
            cursor.execute(f"VACUUM (ANALYZE) {model._meta.db_table}")


# --- Measuring ----------------------------------------------------------------------------------


def copy_floor(path: Path) -> tuple[float, int, int]:
    """Seconds, bytes and lines of PostgreSQL's own JSON of the rows, read into a file."""
    connection.ensure_connection()
    size = 0
    started = time.perf_counter()
    with (
        open(path, "wb") as out,
        connection.connection.cursor() as cursor,
        cursor.copy(COPY_SQL) as copy,
    ):
        for block in copy:
            size += out.write(block)
    seconds = time.perf_counter() - started
    return seconds, size, path.read_bytes().count(b"\n")


class FamilyPss(threading.Thread):
    """Polls the proportional set size of a process and its children (shared pages split between
    their sharers: the memory a forking job really holds, counted once). Runs in the parent, so
    that the measured process forks without a thread of ours in it."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_mb = 0.0
        self._done = threading.Event()

    @staticmethod
    def _pss_kb(pid: int) -> int:
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    return int(line.split()[1])
        return 0

    def _family(self) -> list[int]:
        pids = [self.pid]
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{self.pid}/task").iterdir():
                with contextlib.suppress(OSError, ValueError):
                    pids += [int(p) for p in (task / "children").read_text().split()]
        return pids

    def run(self):
        while not self._done.wait(0.05):
            self.peak_mb = max(self.peak_mb, sum(map(self._pss_kb, self._family())) / 1024)

    def stop(self) -> float:
        self._done.set()
        self.join()
        return self.peak_mb


def run_child(mode: str, snapshot: Snapshot, workdir: Path, *, profile: bool = False) -> dict:
    """`python -m bench.export --child MODE`: a fresh process on the same test database and a
    snapshot storage in workdir; returns what it measured."""
    result = workdir / f"result-{snapshot.pk}.json"
    env = {
        **os.environ,
        "DATABASE_URL": throwaway_database_url(),
        "MEDIA_ROOT": str(workdir / "media"),
        "FLOCK_SNAPSHOT_SPOOL_DIR": str(workdir / "media" / ".spool"),
        # As a worker runs: without DEBUG's query log (every query's SQL composed and kept).
        "DEBUG": "false",
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",  # serves nothing, but production settings ask for it
    }
    env.pop("FLOCK_SNAPSHOT_STORAGE_BACKEND", None)  # local disk under workdir
    env.pop("FLOCK_SNAPSHOT_STORAGE_OPTIONS", None)
    command = [
        sys.executable,
        "-m",
        "bench.export",
        "--child",
        mode,
        "--snapshot",
        str(snapshot.pk),
    ]
    command += ["--result", str(result), *(["--profile"] if profile else [])]
    process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env)
    sampler = FamilyPss(process.pid) if mode == "job" else None  # builds run undisturbed
    if sampler:
        sampler.start()
    code = process.wait()
    pss = sampler.stop() if sampler else None
    if code != 0:
        raise SystemExit(f"the {mode} process for snapshot #{snapshot.pk} failed (exit {code})")
    measured = json.loads(result.read_text())
    if measured["status"] != "ready":
        raise SystemExit(
            f"snapshot v{measured['version']} {measured['status']}: {measured['error']}"
        )
    return {**measured, "family_pss_mb": pss}


def check_files(directory: Path, measured: dict, records: int, copied: Path | None) -> str:
    """data.jsonl has one line per record, the size and sha256 recorded, and (when given PostgreSQL's
    JSON of the rows) the same records, each line exactly json.dumps(record, ensure_ascii=False)."""
    data = directory / "data.jsonl"
    recorded = next(f for f in measured["files"] if f["name"] == "data.jsonl")
    body = data.read_bytes()
    lines = body.count(b"\n")
    problems = []
    if lines != records or measured["record_count"] != records:
        problems.append(f"{lines:,} lines, record_count {measured['record_count']:,}")
    if len(body) != recorded["size"] or hashlib.sha256(body).hexdigest() != recorded["sha256"]:
        problems.append("size or sha256 differs from the recorded one")
    if copied is not None:
        theirs = copied.read_bytes().replace(b"\\\\", b"\\").splitlines()  # COPY text escaping
        ours = body.splitlines()
        if len(theirs) != len(ours):
            problems.append(f"{len(ours):,} lines against COPY's {len(theirs):,}")
        for n, (line, reference) in enumerate(zip(ours, theirs, strict=False)):
            record = json.loads(line)
            if record != json.loads(reference):
                problems.append(f"line {n + 1} differs from the database row")
                break
            if line.decode() != json.dumps(record, ensure_ascii=False):
                problems.append(f"line {n + 1} is not json.dumps(record, ensure_ascii=False)")
                break
    checked = (
        "sha256 ok, every record equal to COPY's and exactly json.dumps(record, ensure_ascii=False)"
        if copied is not None
        else "sha256 ok"
    )
    return "; ".join(problems) if problems else f"{lines:,} lines, {checked}"


def check_formats(directory: Path, measured: dict) -> str:
    """The Parquet shards hold data.jsonl's records in its order, metadata.parquet a row per
    record (the same ids, every record's seeded review figures, a pseudonym for each), and the
    gzipped tar, stored with its recorded sha256, gunzips to the tar's recorded sha256."""
    problems = []
    lines = (directory / "data.jsonl").read_bytes().split(b"\n")[:-1]
    shards = [f["name"] for f in measured["files"] if f["name"].startswith("data/")]
    ids, n = [], 0
    for name in shards:
        for batch in pq.ParquetFile(directory / name).iter_batches(batch_size=10_000):
            for row in batch.to_pylist():
                ids.append(row.pop("id"))
                if n >= len(lines) or json.loads(lines[n]) != row:
                    problems.append(f"{name}: record {n + 1} differs from data.jsonl's")
                    break
                n += 1
    if n != len(lines):
        problems.append(f"{n:,} records in the Parquet shards against {len(lines):,} lines")
    meta = pq.read_table(
        directory / "metadata.parquet", columns=["id", "approvals", "agreement", "contributor"]
    )
    if meta["id"].to_pylist() != ids:
        problems.append("metadata.parquet's ids are not the shards'")
    if meta["approvals"].null_count or meta["contributor"].null_count:
        problems.append("metadata.parquet lacks review figures or pseudonyms")
    gz = directory / measured["archive_gz"]["name"]
    stored, plain = hashlib.sha256(), hashlib.sha256()
    with open(gz, "rb") as handle:
        while chunk := handle.read(1 << 20):
            stored.update(chunk)
    with gzip.open(gz, "rb") as handle:
        while chunk := handle.read(1 << 20):
            plain.update(chunk)
    if stored.hexdigest() != measured["archive_gz"]["sha256"]:
        problems.append("the tar.gz's sha256 differs from the recorded one")
    if plain.hexdigest() != measured["archive"]["sha256"]:
        problems.append("the tar.gz does not gunzip to the tar")
    sizes = {f["name"]: f["size"] for f in measured["files"]}
    parquet_mb = sum(sizes[name] for name in shards) / 1e6
    said = (
        f"{len(shards)} Parquet shard{'s' if len(shards) != 1 else ''} {parquet_mb:,.1f} MB, "
        f"metadata.parquet {sizes['metadata.parquet'] / 1e6:,.1f} MB, tar "
        f"{measured['archive']['size'] / 1e6:,.1f} MB, tar.gz "
        f"{measured['archive_gz']['size'] / 1e6:,.1f} MB"
    )
    if problems:
        return f"{said}; " + "; ".join(problems)
    return f"{said}; records, ids, figures and the tar.gz ok"


def _changes(measured: dict) -> str:
    against = f"v{measured['parent']}" if measured["parent"] else "nothing (no parent)"
    counts = ", ".join(f"{n:,} {key}" for key, n in measured["changes"].items())
    return f"against {against}: {counts}"


def _best_median(values: list[float]) -> str:
    return f"best {min(values):.2f} s, median {statistics.median(values):.2f} s"


def _stages(measured: dict) -> list[tuple[str, float, float]]:
    """Where the build's time went, from its progress reports (see snapshots._write): each
    stage's seconds and the peak RSS reached by its end."""
    marks = measured["marks"]
    writing = [m for m in marks if m["stage"].startswith("Writing")]
    # The first licensing report comes after its first chunk: the duplicates stage below
    # includes that chunk (about 1/150 of the licensing work at 150k entries).
    licences = [m for m in marks if m["stage"].startswith("Checking licences")]
    at = {m["stage"]: m for m in marks}
    end = {"t": measured["seconds"], "peak_mb": measured["peak_mb"]}
    bounds = []
    if "Grouping duplicates" in at:
        # Nothing to check for licences (nothing changed since the last rescan): no report,
        # and the licensing stage's few queries count with the duplicates.
        checked = licences[0] if licences else writing[0]
        bounds += [
            ("claim", {"t": 0.0}, at["Grouping duplicates"]),
            ("duplicates_rescan", at["Grouping duplicates"], checked),
            ("licensing_rescan", checked, writing[0]),
        ]
    else:
        bounds.append(("claim, count()", {"t": 0.0}, writing[0]))
    bounds += [
        ("stream rows: JSONL, Parquet, metadata", writing[0], writing[-1]),
        ("digest, diff, stats, card, manifest, tar + tar.gz", writing[-1], at["Storing files"]),
        ("store files, mark ready", at["Storing files"], end),
    ]
    return [(name, stop["t"] - begin["t"], stop["peak_mb"]) for name, begin, stop in bounds]


def _print_stages(measured: dict) -> None:
    for name, seconds, peak in _stages(measured):
        print(
            f"    {name:<48} {seconds:7.2f} s {seconds / measured['seconds']:6.1%}"
            f"   peak RSS by its end {peak:5.0f} MB"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=150_000)
    parser.add_argument("--builds", type=int, default=RUNS)
    parser.add_argument("--skip-job", action="store_true", help="no whole job with rescans")
    parser.add_argument("--profile", action="store_true", help="one more build under cProfile")
    parser.add_argument("--child", choices=["build", "job"], help=argparse.SUPPRESS)
    parser.add_argument("--snapshot", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if connection.vendor != "postgresql":
        print("bench.export needs PostgreSQL: set DATABASE_URL=postgres://…")
        return

    with tempfile.TemporaryDirectory(prefix="flock-bench-export-") as tmp, throwaway_database():
        workdir = Path(tmp)
        storage = workdir / "media" / "snapshots"
        print(
            f"database: {connection.vendor} {connection.pg_version // 10_000} "
            f"({connection.settings_dict['NAME']}); {os.cpu_count()} cores; "
            f"{args.records:,} accepted entries by {AUTHORS} authors"
        )
        started = time.perf_counter()
        records = make_records(args.records)
        made = time.perf_counter()
        ids = seed(records)
        seed_reviews()
        copied_in = time.perf_counter()
        seed_index(ids, records)
        indexed = time.perf_counter()
        vacuum()
        done = time.perf_counter()
        print(
            f"seed: {done - started:.1f} s (texts {made - started:.1f} s, entries, decisions and "
            f"reviews by COPY "
            f"{copied_in - made:.1f} s, duplicate index {indexed - copied_in:.1f} s, "
            f"VACUUM ANALYZE {done - indexed:.1f} s)"
        )
        print(f"  data: {_shape(records)}")
        del records

        print(f"COPY floor, {RUNS} runs: {COPY_SQL[:60]}…")
        floor = []
        for run in range(RUNS):
            seconds, size, lines = copy_floor(workdir / "copy.jsonl")
            floor.append(seconds)
            print(f"  run {run + 1}: {seconds:.2f} s  ({size / 1e6:,.1f} MB, {lines:,} lines)")
        print(f"  COPY: {_best_median(floor)}")

        print(f"snapshot builds (default options, rescan=False), {args.builds} fresh processes:")
        builds = []
        for run in range(args.builds):
            snapshot, _ = snapshot_request(user=None, options={}, start=False)
            measured = run_child("build", snapshot, workdir)
            builds.append(measured)
            checked = check_files(
                storage / snapshot.directory,
                measured,
                args.records,
                workdir / "copy.jsonl" if run == 0 else None,
            )
            data = next(f for f in measured["files"] if f["name"] == "data.jsonl")
            print(
                f"  v{measured['version']}: {measured['seconds']:.2f} s; peak RSS "
                f"{measured['peak_mb']:.0f} MB (baseline after setup {measured['baseline_mb']:.0f}"
                f" MB); {measured['record_count']:,} records, data.jsonl "
                f"{data['size'] / 1e6:,.1f} MB ({data['size'] / args.records:,.0f} bytes a "
                f"record); {_changes(measured)}; check: {checked}"
            )
            print(f"    formats: {check_formats(storage / snapshot.directory, measured)}")
        times = [b["seconds"] for b in builds]
        peak = max(b["peak_mb"] for b in builds)
        median_build = sorted(builds, key=lambda b: b["seconds"])[len(builds) // 2]
        print(f"  build: {_best_median(times)}; peak RSS max {peak:.0f} MB")
        print(f"  where the median build's time went (v{median_build['version']}):")
        _print_stages(median_build)

        if not args.skip_job:
            job = run_job(workdir, "first job: full rescans (no earlier run), then the build")
            changed_jobs = []
            rng = random.Random(11)
            for _ in range(CHANGED_RUNS):
                touched = touch(ids, rng, share=0.01)
                changed_jobs.append(
                    run_job(
                        workdir, f"after {touched:,} entries (1%) changed: only those rescanned"
                    )
                )

        if args.profile:
            snapshot, _ = snapshot_request(user=None, options={}, start=False)
            print(f"profiled build (cProfile, v{snapshot.version}; not counted above):")
            sys.stdout.flush()
            run_child("build", snapshot, workdir, profile=True)

        best_ratio = min(times) / min(floor)
        ratio = statistics.median(times) / statistics.median(floor)
        print("targets (2 cores):")
        print(
            f"  build / COPY: {ratio:.2f}x median/median ({best_ratio:.2f}x best/best), "
            "for reference"
        )
        print(
            f"  build process peak RSS: {peak:.0f} MB (max of {len(builds)}); "
            f"target < {TARGET_MB} MB: {'MET' if peak < TARGET_MB else 'NOT MET'}"
        )
        if not args.skip_job:
            first = job["seconds"]
            after = [j["seconds"] for j in changed_jobs]
            pss = max(j["family_pss_mb"] for j in changed_jobs)
            second = statistics.median(after)
            print(
                f"  the first job (full rescans): {first:.1f} s, peak PSS "
                f"{job['family_pss_mb']:.0f} MB; target no slower than before the incremental "
                f"rescans ({BEFORE_FULL_JOB_S:g} s): "
                f"{'MET' if first <= BEFORE_FULL_JOB_S else 'NOT MET'}"
            )
            print(
                f"  a job after 1% changed: median {second:.2f} s ({_best_median(after)}), peak "
                f"PSS {pss:.0f} MB; targets <= 5 s and <= 500 MB: "
                f"{'MET' if second <= 5 and pss <= 500 else 'NOT MET'}; "
                f"{second / first:.0%} of the first (target <= 25%): "
                f"{'MET' if second <= first / 4 else 'NOT MET'}"
            )


def run_job(workdir: Path, label: str) -> dict:
    """One whole job (rescans, then the build) in a fresh process; prints its figures."""
    snapshot, _ = snapshot_request(user=None, options={}, start=False)
    flags_before = Flag.objects.count()
    job = run_child("job", snapshot, workdir)
    raised = Flag.objects.count() - flags_before
    print(
        f"{label} (v{job['version']}): {job['seconds']:.2f} s; peak RSS {job['peak_mb']:.0f} MB "
        f"for the job, {job['workers_peak_mb']:.0f} MB for its largest forked worker; peak PSS "
        f"of the job and its workers together {job['family_pss_mb']:.0f} MB; "
        f"{job['record_count']:,} records; {raised:,} flags raised by the rescans"
    )
    _print_stages(job)
    return job


def touch(ids: list[int], rng: random.Random, *, share: float) -> int:
    """Revise `share` of the entries, as moderators' edits and reviewers' fixes do (their text
    and updated_at change); returns how many."""
    chosen = rng.sample(ids, max(1, int(len(ids) * share)))
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE annotation_entry SET response = response || ' (revised)', updated_at = now() "
            "WHERE id = ANY(%s)",
            [chosen],
        )
    return len(chosen)


# --- The measured process -----------------------------------------------------------------------


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _peak_mb() -> float:
    """This process's peak RSS. VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over
    exec, so a process started by a large parent would report the parent's size."""
    return _status_mb("VmHWM")


def _rss_mb() -> float:
    return _status_mb("VmRSS")


def child(args) -> None:
    """Build one snapshot (--child build: rescan=False; job: rescan=True) and write the figures
    to --result; with --profile, print where the time went."""
    # As a worker process is when it takes the job: its tasks modules imported (the drive
    # dashboard's bring pandas and pyarrow, which the Parquet files use too).
    celery_app.loader.import_default_modules()
    baseline = _rss_mb()
    connection.ensure_connection()
    marks = []
    started = time.perf_counter()

    def hook(progress: int, stage: str) -> None:
        marks.append({"t": time.perf_counter() - started, "stage": stage, "peak_mb": _peak_mb()})

    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    snapshot = snapshot_build(
        snapshot_id=args.snapshot, rescan=args.child == "job", on_progress=hook
    )
    seconds = time.perf_counter() - started
    if profiler:
        profiler.disable()
        print_profile(profiler, seconds)
    Path(args.result).write_text(
        json.dumps(
            {
                "version": snapshot.version,
                "status": snapshot.status,
                "error": snapshot.error,
                "seconds": seconds,
                "baseline_mb": baseline,
                "peak_mb": _peak_mb(),
                "workers_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                "record_count": snapshot.record_count,
                "files": snapshot.files,
                "archive": snapshot.archive,
                "archive_gz": snapshot.archive_gz,
                "parent": snapshot.parent.version if snapshot.parent else None,
                "changes": snapshot.changes,
                "marks": marks,
            }
        )
    )


# What writing the gzipped tar costs within archive_write (its sha256 and file writes aside).
GZIP_PARTS = [
    ("own", "~", "<method 'compress' of 'zlib.Compress' objects>"),
    ("own", "~", "<method 'flush' of 'zlib.Compress' objects>"),
    ("own", "~", "<built-in method zlib.crc32>"),
    ("own", "exports/services/snapshots/archive.py", "write"),
]

# Where a build's time goes, from the profile: (label, [(kind, file suffix, function)]).
# "cum" counts a function with what it calls, "own" its own time only, "-cum" takes a part's
# time back out (it is counted on its own line); the lines are disjoint.
BREAKDOWN = [
    ("count() before streaming", [("cum", "django/db/models/query.py", "count")]),
    (
        "fetch the rows and write each record (dolly_record)",
        [("cum", "exports/services/snapshots/rows.py", "export_rows")],
    ),
    ("md5 record digests", [("cum", "exports/dolly.py", "record_digest")]),
    (
        "row loop itself: tally, lists, passage hosts",
        [
            ("own", "exports/services/snapshots/rows.py", "rows_write"),
            ("own", "~", "<method 'append' of 'array.array' objects>"),
        ],
    ),
    (
        "passage credits: source URLs parsed (chunk_places)",
        [("cum", "exports/services/snapshots/rows.py", "chunk_places")],
    ),
    (
        "progress reports (UPDATE per percent)",
        [("cum", "exports/services/snapshots/build.py", "__call__")],
    ),
    (
        "digest, diff against the parent",
        [
            ("cum", "exports/services/snapshots/diff.py", "digest_pack"),
            ("cum", "exports/services/snapshots/diff.py", "changes_find"),
            ("cum", "exports/selectors.py", "snapshot_parent"),
        ],
    ),
    (
        "stats, card, manifest",
        [
            ("cum", "exports/services/snapshots/statistics.py", "category_counts"),
            ("cum", "exports/services/snapshots/statistics.py", "stats_gather"),
            ("cum", "exports/services/snapshots/card.py", "card_write"),
            ("cum", "exports/services/snapshots/manifest.py", "manifest_write"),
        ],
    ),
    (
        "sha256 + write the files",
        [
            ("cum", "exports/services/snapshots/files.py", "write"),
            ("cum", "exports/services/snapshots/rows.py", "_lines"),
        ],
    ),
    (
        "Parquet files: Arrow batches, pyarrow writes, sha256",
        [
            ("cum", "exports/services/snapshots/rows.py", "_records_write"),
            ("cum", "exports/services/snapshots/parquet.py", "finish"),
            ("cum", "exports/services/snapshots/metadata.py", "write"),
        ],
    ),
    (
        "metadata.parquet's figures: 2 queries a chunk, its columns",
        [("cum", "exports/services/snapshots/metadata.py", "columns")],
    ),
    (
        "tar sha256: archive_write re-reads every file",
        [
            ("cum", "exports/services/snapshots/archive.py", "archive_write"),
            *[("-" + kind, file, name) for kind, file, name in GZIP_PARTS],
        ],
    ),
    ("tar.gz: deflate level 1, stored blocks, crc32", GZIP_PARTS),
]


def print_profile(profiler: cProfile.Profile, seconds: float) -> None:
    stats = pstats.Stats(profiler, stream=sys.stdout)
    if os.environ.get("BENCH_PROFILE_OUT"):  # the whole profile, for pstats or snakeviz
        stats.dump_stats(os.environ["BENCH_PROFILE_OUT"])
    table = stats.stats  # {(file, line, function): (calls, primitive calls, own, cumulative, …)}
    total = sum(own for _cc, _nc, own, _ct, _callers in table.values())
    print(f"  {seconds:.2f} s under the profiler ({total:.2f} s profiled); where it goes:")
    accounted = 0.0
    for label, parts in BREAKDOWN:
        spent = sum(
            (-1 if kind.startswith("-") else 1) * value[3 if kind.endswith("cum") else 2]
            for kind, suffix, function in parts
            for (file, _line, name), value in table.items()
            if name == function and file.endswith(suffix)
        )
        accounted += spent
        print(f"    {label:<52} {spent:7.2f} s {spent / total:6.1%}")
    rest = total - accounted
    print(
        f"    {'the rest: claim, storing the files, imports, …':<52} {rest:7.2f} s {rest / total:6.1%}"
    )
    stats.strip_dirs()
    print("  top 15 by cumulative time:")
    stats.sort_stats("cumulative").print_stats(15)
    print("  top 15 by own time:")
    stats.sort_stats("tottime").print_stats(15)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
