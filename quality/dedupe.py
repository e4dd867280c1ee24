"""Duplicate detection: exact fingerprints and MinHash signatures with LSH banding.

A duplicate is the same task written again: the same instruction and response, over the same
passage when there is one. So:

- exact: a hash of the normalised instruction, context and response;
- near: MinHash over word 3-shingles (punctuation ignored) of the normalised instruction +
  response (the passage is
  left out, or every question about one long passage would look alike), candidates found by LSH
  and confirmed by their true shingle Jaccard similarity >= the threshold; when the entries have
  a passage, the passages must be that similar too (one with and one without is no pair).

Normalising is NFKC, case folding and collapsing white space. Signatures use 128 hash
functions, random bijections x -> a*x + b (mod 2^32) with odd a, computed with numpy for
thousands of documents at once. LSH uses 21 bands of 6 rows: a pair at similarity 0.8 becomes a
candidate with probability 1 - (1 - 0.8**6)**21 = 0.998, at 0.5 with 0.28 and at 0.3 with 0.015,
so candidates are few and true pairs are rarely missed. Everything is deterministic: stored
signatures and band keys stay valid across processes and restarts.
"""

import gc
import hashlib
import os
import pickle
import re
import zlib
from dataclasses import dataclass

import numpy as np

from annotation.text import comparable

NUM_PERM = 128
BANDS = 21
ROWS = 6
# An LSH bucket shared by more entries than this is boilerplate: it gives no candidates.
MAX_BUCKET = 200
# Raise when the shingles, signatures or keys change: stored index rows are then rebuilt by a
# full rescan (quality/services/duplicates.py compares it with the last run's).
RULES_VERSION = 1

_rng = np.random.default_rng(20_261_125)
_A = _rng.integers(1, 2**32, NUM_PERM, dtype=np.uint32) | np.uint32(1)  # odd multipliers
_B = _rng.integers(0, 2**32, NUM_PERM, dtype=np.uint32)
_ROW_MULT = _rng.integers(1, 2**63, ROWS, dtype=np.uint64) | np.uint64(1)
_BAND_SALT = _rng.integers(0, 2**63, BANDS, dtype=np.uint64)
_P1, _P2 = np.uint32(0x9E3779B1), np.uint32(0x85EBCA77)
_EMPTY = np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
# Shingles are made of words: punctuation and symbols only separate them ("Hamlet?" is "hamlet").
_NOT_WORD = re.compile(r"[^\w\s]+")


def normalize(text: str) -> str:
    """NFKC, case-folded, white space collapsed: annotation.text.comparable, the one definition
    of "the same text" that the submission rules use too."""
    return comparable(text)


def exact_hash(instruction: str, context: str, response: str) -> str:
    return _exact(normalize(instruction), normalize(context), normalize(response))


def _exact(instruction: str, context: str, response: str) -> str:
    return hashlib.sha256(f"{instruction}\x1f{context}\x1f{response}".encode()).hexdigest()


@dataclass
class Shingles:
    """Sorted unique 32-bit shingle hashes of many texts, row i at values[offsets[i]:offsets[i+1]]."""

    values: np.ndarray
    offsets: np.ndarray

    def row(self, i: int) -> np.ndarray:
        return self.values[self.offsets[i] : self.offsets[i + 1]]

    def __len__(self) -> int:
        return len(self.offsets) - 1


def _shingle(words: np.ndarray, lengths: np.ndarray) -> Shingles:
    """Word 3-gram hashes per text (a text of fewer than 3 words keeps its words), deduplicated."""
    n = len(lengths)
    owner = np.repeat(np.arange(n, dtype=np.uint64), lengths)
    short = lengths < 3
    with np.errstate(over="ignore"):
        grams = words[:-2] * _P1 + words[1:-1] * _P2 + words[2:] if len(words) >= 3 else words[:0]
    same_text = owner[:-2] == owner[2:] if len(words) >= 3 else np.zeros(0, dtype=bool)
    keep_words = short[owner.astype(np.int64)] if len(words) else np.zeros(0, dtype=bool)
    keys = np.concatenate(
        [
            (owner[:-2][same_text] << np.uint64(32)) | grams[same_text].astype(np.uint64),
            (owner[keep_words] << np.uint64(32)) | words[keep_words].astype(np.uint64),
        ]
    )
    keys.sort()
    keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])] if len(keys) else keys
    rows = (keys >> np.uint64(32)).astype(np.int64)
    offsets = np.searchsorted(rows, np.arange(n + 1))
    return Shingles(values=(keys & np.uint64(0xFFFFFFFF)).astype(np.uint32), offsets=offsets)


def _concat(parts: list[Shingles]) -> Shingles:
    offsets = [parts[0].offsets]
    for part in parts[1:]:
        offsets.append(part.offsets[1:] + offsets[-1][-1])
    return Shingles(
        values=np.concatenate([p.values for p in parts]), offsets=np.concatenate(offsets)
    )


def shingle_texts(texts: list[str], chunk: int = 4_000) -> Shingles:
    """Shingles of already-normalised texts, a few thousand at a time to bound the memory."""
    parts = []
    for first in range(0, len(texts), chunk):
        lengths, flat = [], []
        for text in texts[first : first + chunk]:
            words = text.encode().split()  # C all the way: no Python call per word
            lengths.append(len(words))
            flat.extend(map(zlib.crc32, words))
        parts.append(_shingle(np.array(flat, dtype=np.uint32), np.array(lengths, dtype=np.int64)))
    if not parts:
        return Shingles(values=np.empty(0, dtype=np.uint32), offsets=np.zeros(1, dtype=np.int64))
    return _concat(parts)


def signatures(shingles: Shingles, chunk: int = 2_000) -> np.ndarray:
    """MinHash signatures: one row of NUM_PERM uint32 per text (all 0xFFFFFFFF when empty)."""
    n = len(shingles)
    out = np.tile(_EMPTY, (n, 1))
    sizes = np.diff(shingles.offsets)
    for first in range(0, n, chunk):
        last = min(first + chunk, n)
        filled = first + np.flatnonzero(sizes[first:last])
        if len(filled) == 0:
            continue
        flat = shingles.values[shingles.offsets[first] : shingles.offsets[last]]
        starts = shingles.offsets[filled] - shingles.offsets[first]
        for perm in range(0, NUM_PERM, 32):
            with np.errstate(over="ignore"):
                hashed = flat[None, :] * _A[perm : perm + 32, None] + _B[perm : perm + 32, None]
            out[filled, perm : perm + 32] = np.minimum.reduceat(hashed, starts, axis=1).T
    return out


def band_keys(signature_rows: np.ndarray) -> np.ndarray:
    """LSH bucket keys, BANDS per signature, as signed 64-bit integers (database bigints)."""
    rows = signature_rows[:, : BANDS * ROWS].astype(np.uint64).reshape(-1, BANDS, ROWS)
    with np.errstate(over="ignore"):
        keys = (rows * _ROW_MULT).sum(axis=2, dtype=np.uint64) + _BAND_SALT
    return keys.view(np.int64)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) == 0 and len(b) == 0:
        return 1.0
    both = np.intersect1d(a, b, assume_unique=True).size
    return both / (len(a) + len(b) - both)


@dataclass
class Corpus:
    """Texts reduced to what the duplicate rules compare, row i for ids[i]."""

    ids: np.ndarray
    exact: list[str]
    task: Shingles  # instruction + response
    passage: Shingles  # context ("" gives no shingles)
    signatures: np.ndarray  # MinHash of the tasks, NUM_PERM uint32 per row
    keys: np.ndarray  # their LSH band keys

    def similarity(self, i: int, j: int, threshold: float) -> float | None:
        """Rows i and j's task similarity if they are near duplicates, else None."""
        return similarity_between(self, i, self, j, threshold)


def similarity_between(a: Corpus, i: int, b: Corpus, j: int, threshold: float) -> float | None:
    """Row i of `a` and row j of `b`: their task similarity if they are near duplicates (with
    passages as alike, when they have any), else None."""
    pi, pj = a.passage.row(i), b.passage.row(j)
    if (len(pi) == 0) != (len(pj) == 0):
        return None
    task = jaccard(a.task.row(i), b.task.row(j))
    if task < threshold:
        return None
    if len(pi) and jaccard(pi, pj) < threshold:
        return None
    return task


def corpus_of(rows: list[tuple[int, str, str, str]], chunk: int = 4_000) -> Corpus:
    """(id, instruction, context, response) rows, in one process, a few thousand at a time so
    that normalised copies of the text never exist for more than one chunk."""
    ids, exact, tasks, passages = [], [], [], []
    for first in range(0, len(rows), chunk):
        task_texts, passage_texts = [], []
        for entry_id, instruction, context, response in rows[first : first + chunk]:
            ni, nc, nr = normalize(instruction), normalize(context), normalize(response)
            ids.append(entry_id)
            exact.append(_exact(ni, nc, nr))
            task_texts.append(_NOT_WORD.sub(" ", f"{ni} {nr}"))
            passage_texts.append(_NOT_WORD.sub(" ", nc))
        tasks.append(shingle_texts(task_texts))
        passages.append(shingle_texts(passage_texts))
    task = _concat(tasks) if tasks else shingle_texts([])
    minhash = signatures(task)
    return Corpus(
        ids=np.array(ids, dtype=np.int64),
        exact=exact,
        task=task,
        passage=_concat(passages) if passages else shingle_texts([]),
        signatures=minhash,
        keys=band_keys(minhash),
    )


def fork_map(function, items: list) -> list:
    """function(item) for each item, each in a forked child process, results back by pipe.

    Plain os.fork, not multiprocessing: it works inside a Celery prefork worker, whose daemonic
    processes multiprocessing refuses to let have children. Children inherit the parent's
    memory, so large inputs are not copied. The garbage collector is kept off those inherited
    objects (gc.freeze): a collection in a child would touch every page and copy them all,
    which cost more than the work split across the cores saved.
    """
    children = []
    gc.freeze()
    try:
        for item in items:
            children.append(_fork_one(function, item))
        return [_collect(pid, reader) for pid, reader in children]
    finally:
        gc.unfreeze()


def _fork_one(function, item) -> tuple[int, int]:
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute, send, leave without running the parent's cleanup
        gc.disable()
        os.close(reader)
        status = 0
        try:
            with os.fdopen(writer, "wb") as out:
                pickle.dump(function(item), out, protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException:
            status = 1
        os._exit(status)
    os.close(writer)
    return pid, reader


def _collect(pid: int, reader: int):
    with os.fdopen(reader, "rb") as incoming:
        data = incoming.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not data:
        raise RuntimeError(f"a forked worker (pid {pid}) failed")
    return pickle.loads(data)


def corpus_parallel(rows: list[tuple[int, str, str, str]], workers: int | None = None) -> Corpus:
    """The same Corpus, built by one forked process per core (the rows are not copied over)."""
    workers = workers or min(os.cpu_count() or 1, 4)
    if workers < 2 or len(rows) < 5_000:
        return corpus_of(rows)
    step = -(-len(rows) // workers)
    bounds = [(start, min(start + step, len(rows))) for start in range(0, len(rows), step)]
    parts = fork_map(lambda bound: corpus_of(rows[bound[0] : bound[1]]), bounds)
    return Corpus(
        ids=np.concatenate([p.ids for p in parts]),
        exact=[h for p in parts for h in p.exact],
        task=_concat([p.task for p in parts]),
        passage=_concat([p.passage for p in parts]),
        signatures=np.concatenate([p.signatures for p in parts]),
        keys=np.concatenate([p.keys for p in parts]),
    )


def candidate_rows(keys: np.ndarray, max_bucket: int = MAX_BUCKET) -> np.ndarray:
    """Pairs of row numbers sharing an LSH bucket, as an (n, 2) array with i < j.

    Buckets with more than `max_bucket` rows (boilerplate everyone shares) are skipped.
    """
    n = len(keys)
    flat_keys = keys.ravel()
    flat_rows = np.repeat(np.arange(n), keys.shape[1])
    order = np.argsort(flat_keys, kind="stable")
    flat_keys, flat_rows = flat_keys[order], flat_rows[order]
    boundaries = np.flatnonzero(np.diff(flat_keys)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(flat_keys)]])
    sizes = ends - starts
    pairs = []
    for start, end in zip(starts[sizes > 1], ends[sizes > 1], strict=True):
        if end - start > max_bucket:
            continue
        members = np.unique(flat_rows[start:end])
        if len(members) > 1:
            left, right = np.triu_indices(len(members), k=1)
            pairs.append(np.stack([members[left], members[right]], axis=1))
    if not pairs:
        return np.empty((0, 2), dtype=np.int64)
    return np.unique(np.concatenate(pairs), axis=0)


def duplicate_pairs(corpus: Corpus, threshold: float) -> list[tuple[int, int, float]]:
    """Every (id, id, similarity) pair of duplicates: exact ones (similarity 1.0) and near ones
    confirmed by their true Jaccard similarity."""
    found: dict[tuple[int, int], float] = {}
    by_hash: dict[str, list[int]] = {}
    for row, digest in enumerate(corpus.exact):
        by_hash.setdefault(digest, []).append(row)
    for rows in by_hash.values():
        for k, i in enumerate(rows):
            for j in rows[k + 1 :]:
                found[(i, j)] = 1.0
    for i, j in candidate_rows(corpus.keys):
        if (i, j) in found:
            continue
        similar = corpus.similarity(int(i), int(j), threshold)
        if similar is not None:
            found[(int(i), int(j))] = similar
    ids = corpus.ids
    return [(int(ids[i]), int(ids[j]), sim) for (i, j), sim in found.items()]


def clusters(pairs: list[tuple[int, int, float]]) -> list[set[int]]:
    """Groups of ids linked by duplicate pairs (union-find)."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b, _ in pairs:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, set[int]] = {}
    for x in parent:
        groups.setdefault(root(x), set()).add(x)
    return list(groups.values())
