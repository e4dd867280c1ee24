"""A snapshot's files on their way: written to a spool on local disk and hashed as they are
written, then moved into the snapshot storage only once every one of them is complete."""

import hashlib
import logging
import re
import shutil
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import storages

logger = logging.getLogger(__name__)

# A build's spool folder: "<snapshot directory>-<attempt>" (v0007-2), so each attempt spools apart.
SPOOL_NAME = re.compile(r"v\d{4,}-\d+")
# The one folder inside a snapshot's directory: the Hugging Face layout's Parquet shards.
DATA_FOLDER = "data"
DATA_FILE = "data.jsonl"  # every record, in Dolly's format
HASH_CHUNK = 1 << 20


def snapshot_storage():
    return storages["snapshots"]


def spool_path(directory: str, attempt: int) -> Path:
    """Where attempt `attempt` at the snapshot in `directory` writes its files."""
    return Path(settings.FLOCK_SNAPSHOT_SPOOL_DIR) / f"{directory}-{attempt}"


def spool_reset(spool: Path) -> None:
    """An empty spool folder for an attempt's files (whatever was written there before goes)."""
    shutil.rmtree(spool, ignore_errors=True)
    spool.mkdir(parents=True)


def spools_clear(*, keep: Path | None = None) -> list[str]:
    """Remove the spool folders of builds that died (a killed worker leaves its partial files
    behind): every one but `keep`. Called by the build that holds the one building place, so
    no other build on this machine is writing. Returns the names removed."""
    root = Path(settings.FLOCK_SNAPSHOT_SPOOL_DIR)
    try:
        found = list(root.iterdir())
    except FileNotFoundError:
        return []
    removed = []
    for path in found:
        if path != keep and path.is_dir() and SPOOL_NAME.fullmatch(path.name):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    if removed:
        logger.info("Removed the spool files of interrupted builds: %s", ", ".join(removed))
    return removed


class InOrder:
    """Work done in order on a thread of its own while the caller goes on: what releases the GIL
    (compressing, hashing, writing a file) runs on the machine's other core. At most `pending`
    pieces wait for the thread, so memory stays bounded. A piece that failed raises its error
    in the caller at a later `submit` (once that piece's turn to be waited for has come) or at
    `wait`, and again at every call after: the pieces queued behind it are skipped (the file
    they write is broken anyway). `close` must follow, however the work ended: it waits for the
    piece the thread is doing and drops the others."""

    def __init__(self, name: str, *, pending: int):
        self.pending = pending
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self.queued: deque[Future] = deque()
        self.broken = False
        self.error: BaseException | None = None  # the failed piece's, raised in the caller

    def submit(self, work, *args) -> None:
        self.wait(self.pending - 1)
        self.queued.append(self.thread.submit(self._guarded, work, *args))

    def wait(self, most: int = 0) -> None:
        """Until at most `most` pieces are left to do (0: all done); raises a failed one's error."""
        while len(self.queued) > most:
            self.queued.popleft().result()
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self.broken = True  # nothing more is done: the work is finished or abandoned
        self.thread.shutdown(wait=True, cancel_futures=True)
        self.queued.clear()
        # The caller has had the error; its traceback holds the failed piece's frames (and this
        # object): dropped, so that reference counting frees them now.
        self.error = None

    def _guarded(self, work, *args) -> None:
        if self.broken:
            return
        try:
            work(*args)
        except BaseException as exc:
            self.broken = True
            self.error = exc
            raise


class HashingFile:
    """A spool file that hashes and counts what is written to it, so that no file is read again
    for its checksum. With `behind`, the writes and the hashing are done on a thread of their
    own (InOrder), in order, while the caller goes on: for data.jsonl, a sha256 of every
    record's bytes (hashlib and file writes release the GIL)."""

    def __init__(self, path: Path, *, behind: bool = False):
        self.handle = open(path, "wb", buffering=1 << 20)  # noqa: SIM115 (finish or close)
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.behind = InOrder(f"write-{path.name}", pending=4) if behind else None

    def write(self, data: bytes) -> None:
        if self.behind is not None:
            self.behind.submit(self._write, data)
        else:
            self._write(data)

    def _write(self, data: bytes) -> None:
        self.handle.write(data)
        self.sha256.update(data)
        self.size += len(data)

    def flush(self) -> None:  # a file object to writers that flush what they hand on
        if self.behind is not None:
            self.behind.wait()
        self.handle.flush()

    def finish(self, name: str) -> dict:
        if self.behind is not None:
            self.behind.wait()
        self.handle.close()
        return {"name": name, "size": self.size, "sha256": self.sha256.hexdigest()}

    def close(self) -> None:
        """However the writing ended: the thread's writes done (or skipped), the file closed."""
        if self.behind is not None:
            self.behind.close()
        self.handle.close()


def file_described(path: Path, name: str) -> dict:
    """A small spool file's name, size and sha256 (the card, the manifest), as HashingFile gives."""
    data = path.read_bytes()
    return {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def file_hashed(path: Path, name: str) -> dict:
    """A spool file written by another library (the Parquet files): its name, size and sha256,
    read a chunk at a time."""
    with open(path, "rb") as handle:
        size, sha256 = handle_hashed(handle)
    return {"name": name, "size": size, "sha256": sha256}


def handle_hashed(handle) -> tuple[int, str]:
    """(Size, sha256) of what is left to read of an open file, read a chunk at a time."""
    digest = hashlib.sha256()
    size = 0
    while chunk := handle.read(HASH_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


class Spooled(File):
    """A finished spool file: FileSystemStorage renames it into place instead of copying it."""

    def temporary_file_path(self) -> str:
        return self.file.name


def storage_clear(storage, directory: str) -> None:
    """Remove what an interrupted attempt left in the snapshot's directory, its data/ folder
    (the Parquet shards) included."""
    try:
        folders, names = storage.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in names:
        storage.delete(f"{directory}/{name}")
    if DATA_FOLDER in folders:
        storage_clear(storage, f"{directory}/{DATA_FOLDER}")
