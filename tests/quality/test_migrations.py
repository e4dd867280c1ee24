"""The duplicate index moved from `exports` to `quality` with its rows: a database migrated
before the move keeps every fingerprint and bucket after it."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from quality.models import Bucket, Fingerprint
from tests.factories import EntryFactory

BEFORE = [("exports", "0003_snapshot"), ("annotation", "0008_flag_rules_one_home")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_the_index_keeps_its_rows_when_it_moves_to_the_quality_app(seeded):
    entry = EntryFactory()
    old = _migrate(BEFORE)
    OldFingerprint = old.get_model("exports", "Fingerprint")
    OldBucket = old.get_model("exports", "Bucket")
    fingerprint = OldFingerprint.objects.create(
        entry_id=entry.pk, exact_hash="ab" * 32, signature=b"\x01\x02"
    )
    OldBucket.objects.create(fingerprint=fingerprint, key=-42)

    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    _migrate(latest)

    moved = Fingerprint.objects.get(entry=entry)
    assert (moved.exact_hash, bytes(moved.signature)) == ("ab" * 32, b"\x01\x02")
    assert list(Bucket.objects.filter(fingerprint=moved).values_list("key", flat=True)) == [-42]
    assert Fingerprint._meta.db_table == "quality_fingerprint"
    assert "quality_bucket" in connection.introspection.table_names()
    assert "exports_fingerprint" not in connection.introspection.table_names()
