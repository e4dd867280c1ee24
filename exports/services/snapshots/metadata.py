"""metadata.parquet: one row per exported record, keyed by its id (the entry id, as in
data/*.parquet and the manifest's changes), with what people filter on before training.

The rows stage hands each chunk of rows to MetadataWriter as it streams them, with each entry's
times and round read with its record: the review figures come in two queries a span of
ACCEPTED_SPAN ids (never one query per row), the contests' windows and the imported sources'
names once a build. Nobody is named: an author is a pseudonym (contributor_pseudonym), and
imported records have none. MetadataRows is the one home
of the rows' values; the nightly job digests them through it without writing the file.
"""

import bisect
import datetime
import hashlib
import json
from collections import Counter
from itertools import compress
from pathlib import Path

import pyarrow as pa
from django.conf import settings
from django.db import connection
from django.db.models import Count, QuerySet, Sum
from django.utils.crypto import salted_hmac

from annotation import holds
from annotation.models import Outcome, Review, Source
from annotation.selectors import decisions_current, votes_counting
from exports.services.snapshots.parquet import ParquetSpool
from leaderboard.selectors import contest_windows

METADATA_FILE = "metadata.parquet"
PSEUDONYM_SALT = "flock.exports.contributor-pseudonym"
PSEUDONYM_CHARS = 16  # hex digits: 64 bits
_NO_FIGURES = (None, None, None)  # approvals, rejections, mean rating
ACCEPTED_SPAN = 40_000  # ids whose review figures are read at once (MetadataRows._accepted)

# (name, type, required, meaning): the columns in order, their meanings stored in the file too.
COLUMNS = [
    ("id", pa.int64(), True, "the record's id: the entry id, as in data/*.parquet"),
    ("split", pa.string(), True, "train or validation"),
    ("category", pa.string(), True, "the category slug"),
    ("imported", pa.bool_(), True, "imported from a public corpus, not written here"),
    ("import_source", pa.string(), False, "the imported corpus's name"),
    ("contributor", pa.string(), False, "the author's pseudonym (FLOCK_PSEUDONYM_SECRET)"),
    ("source_domain", pa.string(), False, "where the reference passage comes from"),
    ("contest", pa.string(), False, "the contest whose window holds the submission"),
    ("approvals", pa.int32(), False, "approvals of the round that accepted it"),
    ("rejections", pa.int32(), False, "rejections of the round that accepted it"),
    ("mean_rating", pa.float64(), False, "mean 1-5 rating of that round's counting reviews"),
    ("agreement", pa.float64(), False, "share of that round's counting votes that approved"),
    ("writing_seconds", pa.int64(), False, "from the draft's creation to its submission"),
    ("instruction_chars", pa.int32(), True, "instruction length in characters"),
    ("context_chars", pa.int32(), True, "context length in characters (0: none)"),
    ("response_chars", pa.int32(), True, "response length in characters"),
]
METADATA_SCHEMA = pa.schema(
    [
        pa.field(name, kind, nullable=not required, metadata={"description": meaning})
        for name, kind, required, meaning in COLUMNS
    ]
)


def contributor_pseudonym(author_id: int) -> str:
    """The one pseudonym of an author in released data: an HMAC-SHA256 of their account id with
    FLOCK_PSEUDONYM_SECRET, PSEUDONYM_CHARS hex digits. The same in every snapshot while the
    secret stays; without the secret nobody can tell whose it is, nor try account ids."""
    digest = salted_hmac(
        PSEUDONYM_SALT,
        str(author_id),
        secret=settings.FLOCK_PSEUDONYM_SECRET,
        algorithm="sha256",
    )
    return digest.hexdigest()[:PSEUDONYM_CHARS]


class MetadataRows:
    """The values of metadata.parquet's rows, a chunk at a time (`columns`): the one home of
    their rules. MetadataWriter writes them; the nightly job (diff.exportable_digests) only
    digests them, so that a change to any value a snapshot would release (an approval, a rating
    that stops counting, a source URL, a contest's window, the pseudonym secret, an imported
    source's name) is a change, whether or not a record changed.

    `digest()` covers every value, in order, and the card's attribution of the imported sources
    met (name, licence, URL, how many records each). It is a digest of the rows as streamed in
    chunks (rows.CHUNK_ROWS): another chunk size only costs one build the nightly job would
    have skipped."""

    def __init__(self):
        self.pseudonyms: dict[int, str] = {}
        self.sources = {
            pk: (name, licence, url)
            for pk, name, licence, url in Source.objects.values_list("pk", "name", "license", "url")
        }
        windows = contest_windows()
        self.contest_starts = [starts for starts, _ends, _name in windows]
        self.contests = windows
        self.sources_met: Counter = Counter()
        self.hash = hashlib.sha256()
        # The review figures of the span of ids read last: (low, high, figures).
        self.accepted: tuple[int, int, dict] = (0, -1, {})

    def columns(
        self,
        *,
        ids: list[int],
        splits: list[str],
        categories: list[str],
        authors: list[int],
        sources: list[int],
        domains: list[str | None],
        lengths: tuple[list[int], list[int], list[int]],
        times: list[tuple[datetime.datetime, datetime.datetime | None, int]],
    ) -> list[list]:
        """One chunk's columns (METADATA_SCHEMA's order), its rows in the order of data.jsonl;
        `authors` and `sources` hold 0 where there is none, `domains` None where there is no
        passage with a source URL, `times` each entry's (created_at, submitted_at, review_round)
        (rows.metadata_inputs)."""
        accepted = self._accepted(min(ids), max(ids))
        # Column by column: imported rows (a source) are not written, reviewed nor timed here.
        here = [not source for source in sources]
        created, submitted, rounds = zip(*times, strict=True)
        # The accepted entries' last round is the round that accepted them.
        approvals, rejections, mean_rating = zip(
            *(
                accepted.get(key, _NO_FIGURES) if written else _NO_FIGURES
                for key, written in zip(zip(ids, rounds, strict=True), here, strict=True)
            ),
            strict=True,
        )
        agreement = [
            yes / (yes + no) if yes is not None and yes + no else None
            for yes, no in zip(approvals, rejections, strict=True)
        ]
        writing = [
            max(0, int((done - began).total_seconds())) if written and began and done else None
            for written, began, done in zip(here, created, submitted, strict=True)
        ]
        contest = [
            self._contest(done) if written else None
            for written, done in zip(here, submitted, strict=True)
        ]
        contributor = [
            self._pseudonym(author) if written and author else None
            for written, author in zip(here, authors, strict=True)
        ]
        self.sources_met.update(compress(sources, sources))
        columns = [
            ids,
            splits,
            categories,
            [bool(source) for source in sources],
            [self.sources[source][0] if source else None for source in sources],
            contributor,
            domains,
            contest,
            list(approvals),
            list(rejections),
            list(mean_rating),
            agreement,
            writing,
            *lengths,
        ]
        self.hash.update(json.dumps(columns, separators=(",", ":")).encode())
        return columns

    def digest(self) -> str:
        """The sha256 of every chunk's values so far, of the imported sources' attribution, and
        of the settings and rule the card prints (a change to them is a new release too)."""
        final = self.hash.copy()
        attribution = [[pk, *self.sources[pk], n] for pk, n in sorted(self.sources_met.items())]
        final.update(json.dumps(attribution, separators=(",", ":")).encode())
        final.update(json.dumps(_card_settings(), separators=(",", ":")).encode())
        return final.hexdigest()

    def _accepted(self, low: int, high: int) -> dict:
        """_accepting_rounds of the ids low to high, read ACCEPTED_SPAN ids at a time: the
        chunks come in id order, and two queries a chunk of 2,000 cost twice what they did a
        span of 40,000 (6.1 s against 2.8 s at a million entries)."""
        first, last, figures = self.accepted
        if low < first or high > last:
            last = max(high, low + ACCEPTED_SPAN - 1)
            figures = _accepting_rounds(low, last)
            self.accepted = (low, last, figures)
        return figures

    def _pseudonym(self, author: int) -> str:
        if author not in self.pseudonyms:
            self.pseudonyms[author] = contributor_pseudonym(author)
        return self.pseudonyms[author]

    def _contest(self, moment: datetime.datetime | None) -> str | None:
        if moment is None:
            return None
        at = bisect.bisect_right(self.contest_starts, moment) - 1
        if at >= 0 and moment < self.contests[at][1]:
            return self.contests[at][2]
        return None


class MetadataWriter:
    """metadata.parquet in the spool, a chunk of rows at a time (`write`, the columns `rows`,
    a MetadataRows, gives), then `finish`; `digest()` is its rows' (MetadataRows.digest)."""

    def __init__(self, spool: Path):
        self.file = ParquetSpool(
            spool,
            label="metadata",
            schema=METADATA_SCHEMA,
            name_of=lambda number, count: METADATA_FILE,
            shard_rows=None,
        )
        self.rows = MetadataRows()

    def write(self, columns: list[list]) -> None:
        self.file.append(pa.record_batch(columns, schema=METADATA_SCHEMA))

    def finish(self) -> dict:
        described, _counts = self.file.finish()
        return described[0]

    def digest(self) -> str:
        return self.rows.digest()

    def close(self) -> None:
        self.file.close()


def _accepting_rounds(low: int, high: int) -> dict[tuple[int, int], tuple[int, int, float | None]]:
    """(approvals, rejections, mean rating) of each (entry, round) an acceptance that stands
    decided (a moderator's overturn replaces the decision it overturned). Read by the span of a
    chunk's ids (they come in id order): index range scans, without 2,000 parameters to send
    and parse; the rows of other entries in the span are read and ignored. The mean is of the
    round's reviews that count (votes_counting), summed and counted there and divided here (the
    database's average is a decimal, slow to convert). Two plain queries, read without the
    ORM's per-row work (the columns are integers): a third of the time of one query with
    correlated subqueries for the ratings (docs/benchmarks.md)."""
    decided = (
        decisions_current()
        .filter(entry_id__gte=low, entry_id__lte=high, outcome=Outcome.ACCEPTED)
        .order_by()
        .values_list("entry_id", "round", "approvals", "rejections")
    )
    rated = (
        Review.objects.filter(votes_counting(), entry_id__gte=low, entry_id__lte=high)
        .order_by()
        .values("entry_id", "round")
        .annotate(total=Sum("rating"), count=Count("pk"))
        .values_list("entry_id", "round", "total", "count")
    )
    ratings = {(pk, round_): round(total / count, 4) for pk, round_, total, count in _raw(rated)}
    return {
        (pk, round_): (yes, no, ratings.get((pk, round_))) for pk, round_, yes, no in _raw(decided)
    }


def _raw(rows: QuerySet) -> list[tuple]:
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _card_settings() -> list:
    """What the dataset card says besides the records and their metadata: the data set's name,
    the company, the languages, the acceptance rule and what is left out. (The card's and the
    manifest's templates themselves are covered by build.LAYOUT.)"""
    return [
        settings.FLOCK_DATASET_NAME,
        settings.FLOCK_COMPANY_NAME,
        list(settings.FLOCK_DATASET_LANGUAGES),
        settings.FLOCK_ACCEPT_APPROVALS,
        holds.RULE_TEXT,
    ]
