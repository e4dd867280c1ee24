"""The archive stage: the name, size and sha256 of the tar of every file, taken now so that a
download (which streams the same deterministic tar, dolly.archive_stream) can carry its checksum
without building it."""

import hashlib
from pathlib import Path

from exports import dolly
from exports.models import Snapshot


def archive_describe(*, snapshot: Snapshot, spool: Path, files: list[dict]) -> dict:
    mtime = int(snapshot.started_at.timestamp())
    digest = hashlib.sha256()
    size = 0
    for chunk in dolly.archive_stream(
        folder=snapshot.directory,
        members=[(item["name"], item["size"]) for item in files],
        opener=lambda name: open(spool / name, "rb"),  # noqa: SIM115 (closed by the stream)
        mtime=mtime,
    ):
        digest.update(chunk)
        size += len(chunk)
    return {
        "name": dolly.archive_name(snapshot.directory),
        "size": size,
        "sha256": digest.hexdigest(),
        "mtime": mtime,
    }
