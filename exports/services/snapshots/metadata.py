"""metadata.parquet: one row per exported record, keyed by its id (the entry id, as in
data/*.parquet and the manifest's changes), with what people filter on before training.

The rows stage hands each chunk of rows to MetadataWriter as it streams them: a chunk's review
figures and times come in three queries by the span of its ids (never one per row), the
contests' windows and the imported sources' names once a build. Nobody is named: an author is a
pseudonym (contributor_pseudonym), and imported records have none. MetadataRows is the one home
of the rows' values; the nightly job digests them through it without writing the file.
"""

import bisect
import datetime
import hashlib
import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
from django.conf import settings
from django.db.models import Count, Sum
from django.utils.crypto import salted_hmac

from annotation import holds
from annotation.models import Entry, Outcome, Review, Source
from annotation.selectors import decisions_current, votes_counting
from exports.services.snapshots.parquet import ParquetSpool
from leaderboard.selectors import contest_windows

METADATA_FILE = "metadata.parquet"
PSEUDONYM_SALT = "flock.exports.contributor-pseudonym"
PSEUDONYM_CHARS = 16  # hex digits: 64 bits

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
    ) -> list[list]:
        """One chunk's columns (METADATA_SCHEMA's order), its rows in the order of data.jsonl;
        `authors` and `sources` hold 0 where there is none, `domains` None where there is no
        passage with a source URL (rows.metadata_inputs)."""
        low, high = min(ids), max(ids)
        times, decided, ratings = _times(low, high), _decided(low, high), _ratings(low, high)
        approvals, rejections, agreement, mean_rating = [], [], [], []
        writing, contest, contributor = [], [], []
        for pk, author, source in zip(ids, authors, sources, strict=True):
            if source:  # imported: not written, reviewed nor timed here
                for column in (approvals, rejections, agreement, mean_rating, writing, contest):
                    column.append(None)
                contributor.append(None)
                self.sources_met[source] += 1
                continue
            created, submitted, last_round = times.get(pk, (None, None, None))
            yes, no = decided.get((pk, last_round), (None, None))
            approvals.append(yes)
            rejections.append(no)
            agreement.append(yes / (yes + no) if yes is not None and yes + no else None)
            mean_rating.append(ratings.get((pk, last_round)))
            writing.append(
                max(0, int((submitted - created).total_seconds()))
                if created and submitted
                else None
            )
            contest.append(self._contest(submitted))
            contributor.append(self._pseudonym(author) if author else None)
        columns = [
            ids,
            splits,
            categories,
            [bool(source) for source in sources],
            [self.sources[source][0] if source else None for source in sources],
            contributor,
            domains,
            contest,
            approvals,
            rejections,
            mean_rating,
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
    """metadata.parquet in the spool, a chunk of rows at a time (`append`, with the arguments of
    MetadataRows.columns), then `finish`; `digest()` is its rows' (MetadataRows.digest)."""

    def __init__(self, spool: Path):
        self.file = ParquetSpool(
            spool,
            label="metadata",
            schema=METADATA_SCHEMA,
            name_of=lambda number, count: METADATA_FILE,
            shard_rows=None,
        )
        self.rows = MetadataRows()

    def append(self, **inputs) -> None:
        self.file.append(pa.record_batch(self.rows.columns(**inputs), schema=METADATA_SCHEMA))

    def finish(self) -> dict:
        described, _counts = self.file.finish()
        return described[0]

    def digest(self) -> str:
        return self.rows.digest()

    def close(self) -> None:
        self.file.close()


# A chunk's rows are read by the span of its ids (they come in id order), not by a list of
# 2,000 ids: index range scans, without 2,000 parameters to send and parse, and without a join
# (the entry's last round, which the figures are of, comes with its times); the rows of other
# entries in the span (drafts, rejected ones, entries a filter left out) are read and ignored.


def _times(low: int, high: int) -> dict[int, tuple]:
    """(created_at, submitted_at, review_round) of each entry: the accepted ones' last round is
    the round that accepted them."""
    rows = Entry.objects.filter(pk__gte=low, pk__lte=high).order_by()
    return {
        pk: (created, submitted, last_round)
        for pk, created, submitted, last_round in rows.values_list(
            "pk", "created_at", "submitted_at", "review_round"
        )
    }


def _decided(low: int, high: int) -> dict[tuple[int, int], tuple[int, int]]:
    """The approvals and rejections of each (entry, round) an acceptance that stands decided (a
    moderator's overturn replaces the decision it overturned)."""
    rows = decisions_current().filter(
        entry_id__gte=low, entry_id__lte=high, outcome=Outcome.ACCEPTED
    )
    return {
        (pk, round_): (yes, no)
        for pk, round_, yes, no in rows.order_by().values_list(
            "entry_id", "round", "approvals", "rejections"
        )
    }


def _ratings(low: int, high: int) -> dict[tuple[int, int], float]:
    """The mean rating of each (entry, round)'s reviews that count (votes_counting). (Summed and
    counted rather than averaged: the database's average is a decimal, slow to convert.)"""
    rows = (
        Review.objects.filter(votes_counting(), entry_id__gte=low, entry_id__lte=high)
        .order_by()
        .values("entry_id", "round")
        .annotate(total=Sum("rating"), count=Count("pk"))
        .values_list("entry_id", "round", "total", "count")
    )
    return {(pk, round_): round(total / count, 4) for pk, round_, total, count in rows}


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
