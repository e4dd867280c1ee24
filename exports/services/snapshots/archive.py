"""The archive stage: the tar of every file, described, and written gzipped, in one pass.

The plain tar is never stored: a download streams it again (the same deterministic tar,
dolly.archive_stream), so its name, size and sha256 are taken here to go with it. The gzipped
tar (v0007.tar.gz) is written into the spool from that same stream, so that gunzipping it gives
the plain tar byte for byte; it is stored beside the files but is none of Snapshot.files (a tar
cannot hold itself): Snapshot.archive_gz names it.

The gzip is isal's (Intel's ISA-L): one gzip stream compressed by GZIP_THREADS threads a
block (GZIP_BLOCK, 1 MiB) each (igzip_threaded, as pigz does: each block primed with the 32 KiB
before it), so that the compression, which releases the GIL, runs beside this thread's streaming
and hashing of the tar (at a million entries the archive stage took 4.0 s, against 6.5 s
compressed on this thread). Deterministic: no file name and no time in its header, a fixed
level, and for a given GZIP_BLOCK and tar stream the same bytes however many threads compress
it. Against zlib's fastest level (the standard library's gzip) on databricks-dolly-15k-like
records ISA-L is three times as fast for a file 2% smaller, and over the Parquet members,
compressed already, which zlib spends as long on as on text for nothing, seventeen times
(docs/benchmarks.md). Any gzip reader reads it.
"""

import hashlib
import os
from pathlib import Path

from isal import igzip_threaded

from exports import dolly
from exports.models import Snapshot
from exports.services.snapshots.files import HashingFile

GZIP_LEVEL = 1
GZIP_THREADS = min(os.cpu_count() or 1, 4)
GZIP_BLOCK = 1 << 20  # bytes of tar each thread compresses at a time


def archive_write(*, snapshot: Snapshot, spool: Path, files: list[dict]) -> tuple[dict, dict]:
    """(The tar's {name, size, sha256, mtime}, the gzipped tar's {name, size, sha256}), the
    latter written into the spool under its name."""
    mtime = int(snapshot.started_at.timestamp())
    digest = hashlib.sha256()
    size = 0
    gz_name = dolly.archive_gz_name(snapshot.directory)
    spooled = HashingFile(spool / gz_name)
    try:
        # The writer leaves the file object open: it is ours to close.
        with igzip_threaded.open(
            spooled, "wb", compresslevel=GZIP_LEVEL, threads=GZIP_THREADS, block_size=GZIP_BLOCK
        ) as gz:
            for chunk in dolly.archive_stream(
                folder=snapshot.directory,
                members=[(item["name"], item["size"]) for item in files],
                opener=lambda name: open(spool / name, "rb"),  # noqa: SIM115 (closed by the stream)
                mtime=mtime,
            ):
                digest.update(chunk)
                size += len(chunk)
                gz.write(chunk)
        archive_gz = spooled.finish(gz_name)
    finally:
        spooled.close()
    archive = {
        "name": dolly.archive_name(snapshot.directory),
        "size": size,
        "sha256": digest.hexdigest(),
        "mtime": mtime,
    }
    return archive, archive_gz
