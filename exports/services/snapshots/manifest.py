"""The manifest stage: manifest.json, what a snapshot is, how it was made, its files'
checksums and the ids that changed since its parent."""

import json
from pathlib import Path

from django.conf import settings

from annotation import holds
from exports.models import Snapshot
from exports.services.snapshots.files import file_described
from exports.services.snapshots.options import SnapshotOptions

MANIFEST_FILE = "manifest.json"


def manifest_write(
    *,
    snapshot: Snapshot,
    options: SnapshotOptions,
    parent: Snapshot | None,
    record_count: int,
    category_counts: dict[str, int],
    files: list[dict],
    changes: dict[str, list[int]],
    removals: dict[str, list[int]],
    spool: Path,
) -> dict:
    """Write the manifest into the spool; its name, size and sha256. `files` are every other
    file (the manifest cannot hold its own checksum)."""
    manifest = {
        "name": settings.FLOCK_DATASET_NAME,
        "version": snapshot.version,
        "created_at": snapshot.started_at.isoformat(),
        # Whether a person asked for it, never who: a file released for good names nobody (the
        # row and the API tell staff who built it; an erasure empties the account behind it).
        "built_by_person": snapshot.created_by_id is not None,
        "origin": snapshot.origin,
        "format": "databricks-dolly-15k JSONL: instruction, context, response, category",
        "license": "cc-by-sa-3.0",
        "filters": {
            **options.as_dict(),
            "status": "accepted",
            "excluded": holds.RULE_TEXT,
        },
        "record_count": record_count,
        "category_counts": category_counts,
        "files": files,
        "parent": parent.version if parent else None,
        "changes": {key: f"@{key}@" for key in changes},
        # The removed ids by reason (removals.py): withdrawn, erased, moderated.
        "removals": {key: f"@removals.{key}@" for key in removals},
    }
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    for key, ids in changes.items():  # id lists on one line each, not one line per id
        text = text.replace(f'"@{key}@"', json.dumps(ids, separators=(",", ":")), 1)
    for key, ids in removals.items():
        text = text.replace(f'"@removals.{key}@"', json.dumps(ids, separators=(",", ":")), 1)
    (spool / MANIFEST_FILE).write_bytes(text.encode())
    return file_described(spool / MANIFEST_FILE, MANIFEST_FILE)
