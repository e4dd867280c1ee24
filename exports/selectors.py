from collections.abc import Iterator
from itertools import batched

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Exists, OuterRef, Q, QuerySet

from annotation import holds
from annotation.models import Decision, Entry, EntryStatus, Outcome
from exports import dolly
from exports.models import Snapshot, SnapshotStatus

# What a snapshot reads of each entry, in this order (exports/services/snapshots.py).
EXPORT_COLUMNS = (
    "pk",
    "instruction",
    "context",
    "response",
    "category__slug",
    "author_id",
    "source_id",
    "source_url",
)


def exportable_entries(
    *, categories=(), min_approvals: int = 0, include_imported: bool = True
) -> QuerySet[Entry]:
    """The accepted entries a snapshot with these filters holds, by id.

    Kept out: what annotation/holds.py keeps out (a blocking flag open or confirmed, which
    includes every copy of a duplicate but the one kept). `min_approvals` counts the approvals
    of the round that accepted an entry; imported entries were not reviewed here and are
    governed by `include_imported` alone.
    """
    entries = Entry.objects.filter(status=EntryStatus.ACCEPTED).exclude(holds.held_back())
    if categories:
        entries = entries.filter(category__slug__in=list(categories))
    if not include_imported:
        entries = entries.filter(source__isnull=True)
    if min_approvals:
        approved = Decision.objects.filter(
            entry=OuterRef("pk"),
            round=OuterRef("review_round"),
            outcome=Outcome.ACCEPTED,
            approvals__gte=min_approvals,
        )
        entries = entries.filter(Q(source__isnull=False) | Exists(approved))
    return entries.order_by("pk")


def snapshot_list() -> QuerySet[Snapshot]:
    return Snapshot.objects.select_related("created_by", "parent").defer("digest", "parent__digest")


DEFAULT_FILTERS = {"categories": [], "min_approvals": 0, "include_imported": True}


def snapshot_filters(options: dict) -> dict:
    """The options that decide the records (data.jsonl); the validation split only divides them."""
    return {key: options.get(key) for key in DEFAULT_FILTERS}


def snapshot_latest() -> Snapshot | None:
    """The newest ready snapshot of the whole data set (default filters, any split): what a
    trainer fetching "latest" expects, never a subset someone built for a look."""
    for snapshot in snapshot_list().filter(status=SnapshotStatus.READY).order_by("-version"):
        if snapshot_filters(snapshot.options) == DEFAULT_FILTERS:
            return snapshot
    return None


def snapshot_parent(*, version: int, options: dict) -> Snapshot | None:
    """What a new snapshot is compared with: the newest ready one with the same filters."""
    candidates = Snapshot.objects.filter(status=SnapshotStatus.READY, version__lt=version)
    for snapshot in candidates.order_by("-version").only("pk", "options"):
        if snapshot_filters(snapshot.options) == snapshot_filters(options):
            return Snapshot.objects.get(pk=snapshot.pk)
    return None


ExportRow = tuple[int, int, int, str, int, int, int, bytes, bytes]
"""(id, author_id or 0, source_id or 0, category slug, instruction, context and response lengths
in characters, source_url as UTF-8, the record as UTF-8 JSON): one exported entry."""

# PostgreSQL's COPY in CSV mode with these as delimiter and quote never quotes nor escapes
# anything: a JSON record has no raw control characters, ids and lengths are digits, slugs are
# slugs, and the source URL's control characters are dropped in the query (an empty one is "-").
_FIELD = b"\x1f"
_RECORD_START = b'{"instruction": '


def export_rows(*, entries: QuerySet[Entry], chunk_size: int = 2_000) -> Iterator[list[ExportRow]]:
    """The entries as export rows, by id, a chunk at a time (never the whole table at once).

    On PostgreSQL the database writes each JSON record (dolly.pg_record_sql) and streams the
    rows with COPY … TO STDOUT on a connection of its own: its C encoder works on the other core
    while this process files the rows, and the caller's connection stays free (for progress).
    Elsewhere (SQLite), and inside a transaction whose rows another connection could not see
    yet, Python writes them through a cursor. The bytes are the same.
    """
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        yield from _export_rows_postgresql(entries, chunk_size)
        return
    rows = entries.values_list(*EXPORT_COLUMNS).iterator(chunk_size=chunk_size)
    for chunk in batched(rows, chunk_size):
        yield [
            (
                pk,
                author or 0,
                source or 0,
                slug,
                len(instruction),
                len(context),
                len(response),
                url.encode(),
                dolly.dolly_record(instruction, context, response, slug).encode(),
            )
            for pk, instruction, context, response, slug, author, source, url in chunk
        ]


def _export_rows_postgresql(entries: QuerySet[Entry], chunk_size: int) -> Iterator[list]:
    inner, params = entries.order_by().values_list(*EXPORT_COLUMNS).query.sql_with_params()
    sql = f"""
        COPY (
            SELECT s.pk, coalesce(s.author_id, 0), coalesce(s.source_id, 0), s.category__slug,
                   char_length(s.instruction), char_length(s.context), char_length(s.response),
                   coalesce(nullif(regexp_replace(s.source_url, '[[:cntrl:]]', '', 'g'), ''), '-'),
                   {dolly.pg_record_sql("s", "category__slug")}
            FROM ({inner}) s
            ORDER BY s.pk
        ) TO STDOUT WITH (FORMAT csv, DELIMITER E'\\x1f', QUOTE E'\\x1e')
    """
    reader = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        yield from _copy_rows(reader, sql, params, chunk_size)
    finally:
        reader.close()


def _copy_rows(reader, sql: str, params, chunk_size: int) -> Iterator[list]:
    slugs: dict[bytes, str] = {}
    rest = b""
    rows: list = []
    # psycopg's own cursor: Django's debug wrapper passes COPY no parameters.
    with reader.cursor() as cursor, cursor.cursor.copy(sql, params) as copy:
        for block in copy:
            lines = (rest + bytes(block)).split(b"\n")
            rest = lines.pop()
            for line in lines:
                fields = line.split(_FIELD)
                if len(fields) != 9 or not fields[8].startswith(_RECORD_START):
                    raise ValueError(f"COPY gave a malformed row: {line[:80]!r}")
                pk, author, source, slug, i_len, c_len, r_len, url, record = fields
                name = slugs.get(slug)
                if name is None:
                    name = slugs[slug] = slug.decode()
                rows.append(
                    (
                        int(pk),
                        int(author),
                        int(source),
                        name,
                        int(i_len),
                        int(c_len),
                        int(r_len),
                        url,
                        record,
                    )
                )
            if len(rows) >= chunk_size:
                yield rows
                rows = []
    if rest:
        raise ValueError("COPY ended in the middle of a row.")
    if rows:
        yield rows
