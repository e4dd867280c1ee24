"""PostgreSQL writes a snapshot's records itself and COPY streams them: the fast way to read
the rows, kept apart so that it can be measured and, if it does not pay, deleted in one go.

Its C encoder works on the other core while the build files the rows, and the rows come on a
connection of its own, so the job's connection stays free for progress. rows.export_rows falls
back to Python's records (the same bytes) wherever this is not usable. Deleting it means this
module, the branch in rows.export_rows, dolly.pg_record_sql and the test that holds COPY to
Python's bytes (tests/exports/test_snapshots.py).
"""

from collections.abc import Iterator

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import QuerySet

from exports import dolly

# PostgreSQL's COPY in CSV mode with these as delimiter and quote never quotes nor escapes
# anything: a JSON record has no raw control characters, ids and lengths are digits, slugs are
# slugs, and the source URL's control characters are dropped in the query (an empty one is "-").
_FIELD = b"\x1f"
_RECORD_START = b'{"instruction": '


def copy_usable() -> bool:
    """COPY reads on another connection, which cannot see what an open transaction (a test, a
    caller's atomic block) has not committed yet."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def copy_rows(*, rows: QuerySet, chunk_size: int) -> Iterator[list]:
    """rows.export_rows' rows, by id, a chunk at a time. `rows` is the entries as
    values_list(*rows.EXPORT_COLUMNS): the query below reads those columns by name."""
    inner, params = rows.order_by().query.sql_with_params()
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
