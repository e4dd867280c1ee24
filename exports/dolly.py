"""The databricks-dolly-15k format and the pieces of a snapshot that need no database.

One record a line: `{"instruction": …, "context": …, "response": …, "category": …}`, keys in that
order, `context` "" when there is none, UTF-8 without ASCII escaping, exactly what
`json.dumps(record, ensure_ascii=False)` gives (the tests hold it to that), written by hand from
the C string encoder because a snapshot encodes every accepted entry.
"""

import hashlib
import json
import re
import tarfile
from collections.abc import Iterable, Iterator
from json.encoder import encode_basestring

from django.core.files.storage import Storage

FIELDS = ("instruction", "context", "response", "category")
SPLIT_BUCKETS = 10_000
# Length bins (characters) for the distributions on a snapshot's page (empty contexts are left
# out of the context's distribution; instructions and responses are never empty).
LENGTH_BINS = (1, 50, 100, 200, 400, 800, 1_600, 3_200, 6_400, 12_800)


def dolly_record(instruction: str, context: str, response: str, category: str) -> str:
    """One record as JSON, without its newline."""
    return (
        f'{{"instruction": {encode_basestring(instruction)}, '
        f'"context": {encode_basestring(context or "")}, '
        f'"response": {encode_basestring(response)}, '
        f'"category": {encode_basestring(category)}}}'
    )


def record_digest(record: bytes) -> bytes:
    """8 bytes that change when the exported record changes (for the diff against the parent)."""
    return hashlib.md5(record, usedforsecurity=False).digest()[:8]


def split_bucket(entry_id: int) -> int:
    """A stable bucket in [0, 10,000) for an entry id: the same entry always lands in the same
    split, whatever else the snapshot holds and whenever it is built."""
    digest = hashlib.blake2b(b"flock-split:%d" % entry_id, digest_size=8).digest()
    return int.from_bytes(digest, "big") % SPLIT_BUCKETS


def in_validation(entry_id: int, validation_percent: float) -> bool:
    return split_bucket(entry_id) < round(validation_percent * SPLIT_BUCKETS / 100)


def size_category(count: int) -> str:
    """Hugging Face's size_categories tag for this many records."""
    for limit, tag in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if count < limit:
            return tag
    if count < 1_000_000:
        return "100K<n<1M"
    return "1M<n<10M"


def length_bin_labels() -> list[str]:
    labels = []
    for low, high in zip(LENGTH_BINS, [*LENGTH_BINS[1:], None], strict=True):
        if high is None:
            labels.append(f"{low:,}+")
        else:
            labels.append(f"{low:,}–{high - 1:,}")
    return labels


# --- The whole snapshot as one archive --------------------------------------------------------

ARCHIVE_CHUNK = 1 << 20


def archive_name(directory: str) -> str:
    return f"{directory}.tar"


def archive_gz_name(directory: str) -> str:
    """The gzipped tar's name (exports/services/snapshots/archive.py writes it)."""
    return f"{archive_name(directory)}.gz"


def archive_stream(
    *, folder: str, members: Iterable[tuple[str, int]], opener, mtime: int
) -> Iterator[bytes]:
    """A POSIX (ustar) tar of the members (name, size), read through `opener(name)` a chunk at a
    time, so a download never holds a file in memory.

    Deterministic for the same files and mtime (fixed owner and mode), so the sha256 taken while
    building is the sha256 of every later download.
    """
    written = 0
    for name, size in members:
        info = tarfile.TarInfo(f"{folder}/{name}")
        info.size = size
        info.mtime = mtime
        info.mode = 0o644
        header = info.tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict")
        yield header
        copied = 0
        with opener(name) as handle:
            while chunk := handle.read(min(ARCHIVE_CHUNK, size - copied)):
                copied += len(chunk)
                yield chunk
                if copied == size:
                    break
        if copied != size:
            raise OSError(f"{name} is {copied:,} bytes, not the {size:,} recorded.")
        padding = b"\0" * ((-size) % tarfile.BLOCKSIZE)
        yield padding
        written += len(header) + size + len(padding)
    end = 2 * tarfile.BLOCKSIZE
    yield b"\0" * (end + (-(written + end)) % tarfile.RECORDSIZE)


def storage_opener(storage: Storage, directory: str):
    def opener(name: str):
        return storage.open(f"{directory}/{name}", "rb")

    return opener


# The dataset card is Markdown with YAML front matter, not HTML: Django's autoescape is off for it
# and these make what it quotes (names, licences, settings) safe in each place.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]|~$])")
_HTML_SPECIAL = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")


def markdown_text(value) -> str:
    """`value` as Markdown that shows it as plain text on one line: white space and line breaks
    collapsed (no `---` line, no heading, no list item can start), invisible characters dropped,
    `<`, `>` and `&` as HTML entities (so `<script>` shows as text, and is no tag even to a
    reader that takes the file for HTML), and the characters that make links, code, emphasis,
    tables or maths backslash-escaped."""
    text = " ".join(_INVISIBLE.sub(" ", str(value)).split())
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return re.sub("[&<>]", lambda special: _HTML_SPECIAL[special[0]], text)


def yaml_string(value) -> str:
    """`value` as a double-quoted YAML scalar: JSON's quoting, which YAML reads the same, with
    everything outside printable ASCII escaped, so that no line break or document marker gets
    into the front matter."""
    return json.dumps(str(value), ensure_ascii=True).replace("\x7f", "\\u007f")
