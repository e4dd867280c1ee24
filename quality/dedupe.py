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

Short tasks. Shingles fail them: one word changed in a 12-word question and answer changes 3 of
its 10 shingles (Jaccard 7/13 = 0.54), and a third of Dolly's records have fewer than 30 words.
So a task of fewer than SHORT_WORDS words (instruction + response, punctuation ignored) also
gets delete-one keys: the hash of its word sequence and of the sequence with each one word
taken out. Two sequences one word apart share one: a word changed at k, both without it; a
word added, the longer without it is the shorter. They are polynomial hashes mod 2^64 of the
word hashes, mixed (splitmix64's bijection) with a salt of their own: a collision with a band
key or another sequence only costs a candidate, never a pair. Corpus.keys holds them after
the band keys, padded to one width. Two short tasks at most one word apart, counted in the
instruction and the response separately, are near duplicates with similarity 1 - 1/words (of
the longer; their Jaccard if higher) when that reaches the threshold: at 0.8, from 5 words.

Questions of one shape. "What is the capital of Peru? Lima." and "... of Chile? Santiago." are
two words apart, never a pair. But "Is Peru in South America? Yes." and "Is Chile in South
America? Yes." are one apart, as is every pair of a template whose answer is a yes, a label or
a short list. So when the one difference is a word of the question replaced, and the two
answers are the same and terse (TERSE_WORDS words at most), the two are template siblings,
never duplicates (however alike their shingles), unless the two words are one word re-typed:
a/the, is/are, what/which... (_INTERCHANGEABLE), or a slip of the keys (_mistyped: a plural
s, two neighbouring letters swapped, a letter doubled, undoubled or replaced by a QWERTY
neighbour, one dropped or added after the first). The price: a copy whose question had a
word replaced by another real word (a synonym) over a terse answer is missed, as it cannot be
told from a sibling; and two real words one slip apart in the slot of such a template
(cow/crow, rat/ray) are taken for one. A word added or dropped, or changed in the answer,
always counts: the same question with a one-word different answer is the same task (one of
the answers is wrong), and a list question with one item more and the same answer is taken
for a copy. An entry one word from two siblings ("Is located in Asia? Yes.", one word from
"Is Peru located in Asia? Yes." and "Is Chile located in Asia? Yes.") is a copy of neither:
duplicate_pairs drops its pairs (unchain), which would chain the whole family into one
cluster. Template families make millions of candidate pairs (siblings share the key without
their one different word); _screen settles those in bulk, with numpy, as _compare would.
"""

import contextlib
import gc
import hashlib
import os
import pickle
import re
import signal
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
RULES_VERSION = 2  # 2: short tasks also get delete-one keys (see the module docstring)

_rng = np.random.default_rng(20_261_125)
_A = _rng.integers(1, 2**32, NUM_PERM, dtype=np.uint32) | np.uint32(1)  # odd multipliers
_B = _rng.integers(0, 2**32, NUM_PERM, dtype=np.uint32)
_ROW_MULT = _rng.integers(1, 2**63, ROWS, dtype=np.uint64) | np.uint64(1)
_BAND_SALT = _rng.integers(0, 2**63, BANDS, dtype=np.uint64)
_P1, _P2 = np.uint32(0x9E3779B1), np.uint32(0x85EBCA77)
_EMPTY = np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
# Shingles are made of words: punctuation and symbols only separate them ("Hamlet?" is "hamlet").
_NOT_WORD = re.compile(r"[^\w\s]+")
# _NOT_WORD's characters made spaces, as bytes.translate's table for an ASCII text (the rest
# stay as they are: the table is only used on ASCII).
_ASCII_WORDS = bytes(32 if _NOT_WORD.match(chr(b)) else b for b in range(128)) + bytes(
    range(128, 256)
)

# Short tasks (instruction + response of fewer words than this) also get delete-one keys.
SHORT_WORDS = 30
# Every row of Corpus.keys: the band keys, then SHORT_WORDS delete-one keys (repeats when fewer).
KEY_WIDTH = BANDS + SHORT_WORDS
# An answer of at most this many words ("Yes.", "No, it is not.", "Salmon and trout."), the same
# in both, does not make two questions one word apart the same task.
TERSE_WORDS = 5
# Words one may stand for another in a re-typed question ("what's" is "what s").
_INTERCHANGEABLE = {
    word: group
    for group, words in enumerate(
        [
            "a an the this that these those some any",
            "is are was were be am s",
            "do does did",
            "what which",
            "of in on at for to from with by about into",
            "me us",
        ]
    )
    for word in words.split()
}
# Keys next to each other on a QWERTY keyboard (its rows are offset by a quarter and three
# quarters of a key): a slip puts one for the other.
_KEY_AT = {
    key: (row, col + (0, 0.25, 0.75)[row])
    for row, line in enumerate(("qwertyuiop", "asdfghjkl", "zxcvbnm"))
    for col, key in enumerate(line)
}
_NEXT_KEYS = {
    key: "".join(
        other
        for other, (r, x) in _KEY_AT.items()
        if other != key and abs(r - row) <= 1 and abs(x - at) <= (1 if r == row else 0.75)
    )
    for key, (row, at) in _KEY_AT.items()
}
_short = np.random.default_rng(20_260_430)  # its own draws: the constants above never change
_SEQ_MULT = _short.integers(1, 2**63, dtype=np.uint64) | np.uint64(1)
_SEQ_LEN = _short.integers(1, 2**63, dtype=np.uint64)
_SEQ_SALT = _short.integers(0, 2**63, dtype=np.uint64)
with np.errstate(over="ignore"):
    _SEQ_POW = np.cumprod(np.full(SHORT_WORDS, _SEQ_MULT, dtype=np.uint64))  # M**1 .. M**30
    _SEQ_POW = np.concatenate([[np.uint64(1)], _SEQ_POW[:-1]])  # M**0 .. M**29


def normalize(text: str) -> str:
    """NFKC, case-folded, white space collapsed: annotation.text.comparable, the one definition
    of "the same text" that the submission rules use too."""
    return comparable(text)


def word_count(text: str) -> int:
    """How many words the duplicate rules see in a text (normalised, punctuation dropped)."""
    return len(_words(normalize(text)).split())


def _words(normalized: str) -> bytes:
    """A normalised text's words, as UTF-8, with _NOT_WORD made space (split() gives the words:
    normalising left no white space but single spaces). Most texts are ASCII, which
    bytes.translate does in one pass in C, where the pattern is tried at every character."""
    if normalized.isascii():
        return normalized.encode().translate(_ASCII_WORDS)
    return _NOT_WORD.sub(" ", normalized).encode()


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


def _word_hashes(texts: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """The texts' words (_words) as 32-bit hashes, all in one flat array, and each text's word
    count."""
    lengths, flat = [], []
    for text in texts:
        words = text.split()  # C all the way: no Python call per word
        lengths.append(len(words))
        flat.extend(map(zlib.crc32, words))
    return np.array(flat, dtype=np.uint32), np.array(lengths, dtype=np.int64)


def shingle_texts(texts: list[bytes], chunk: int = 4_000) -> Shingles:
    """Shingles of texts' words (_words), a few thousand at a time to bound the memory."""
    parts = [
        _shingle(*_word_hashes(texts[first : first + chunk]))
        for first in range(0, len(texts), chunk)
    ]
    if not parts:
        return Shingles(values=np.empty(0, dtype=np.uint32), offsets=np.zeros(1, dtype=np.int64))
    return _concat(parts)


def signatures(shingles: Shingles, chunk: int = 256) -> np.ndarray:
    """MinHash signatures: one row of NUM_PERM uint32 per text (all 0xFFFFFFFF when empty).

    Every permutation of a few hundred texts' shingles at once, into one buffer used again: a
    fresh array each time cost more in the kernel's new pages than the arithmetic, and a small
    one stays in the processor's cache."""
    n = len(shingles)
    out = np.tile(_EMPTY, (n, 1))
    sizes = np.diff(shingles.offsets)
    buffer = np.empty((NUM_PERM, 0), dtype=np.uint32)
    for first in range(0, n, chunk):
        last = min(first + chunk, n)
        filled = first + np.flatnonzero(sizes[first:last])
        if len(filled) == 0:
            continue
        flat = shingles.values[shingles.offsets[first] : shingles.offsets[last]]
        starts = shingles.offsets[filled] - shingles.offsets[first]
        if buffer.shape[1] < len(flat):
            buffer = np.empty((NUM_PERM, len(flat)), dtype=np.uint32)
        hashed = buffer[:, : len(flat)]
        np.multiply(flat[None, :], _A[:, None], out=hashed)  # mod 2**32, as uint32 wraps
        hashed += _B[:, None]
        out[filled] = np.minimum.reduceat(hashed, starts, axis=1).T
    return out


def band_keys(signature_rows: np.ndarray) -> np.ndarray:
    """LSH bucket keys, BANDS per signature, as signed 64-bit integers (database bigints)."""
    rows = signature_rows[:, : BANDS * ROWS].astype(np.uint64).reshape(-1, BANDS, ROWS)
    with np.errstate(over="ignore"):
        keys = (rows * _ROW_MULT).sum(axis=2, dtype=np.uint64) + _BAND_SALT
    return keys.view(np.int64)


def keys_packed(keys) -> bytes:
    """An entry's distinct keys as the index stores them beside its buckets (Fingerprint.keys):
    sorted, 8 bytes each, big-endian (PostgreSQL's int8send, so SQL writes the same bytes)."""
    return np.unique(np.asarray(list(keys), dtype=np.int64)).astype(">i8").tobytes()


def keys_unpacked(packed: bytes) -> set[int]:
    """The keys keys_packed stored."""
    return set(np.frombuffer(packed, dtype=">i8").tolist())


def _sequence_keys(hashes: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Final keys of word sequences from their polynomial hashes and lengths: a bijective mix
    (splitmix64's), salted apart from the band keys, as signed 64-bit integers."""
    with np.errstate(over="ignore"):
        x = hashes + lengths.astype(np.uint64) * _SEQ_LEN + _SEQ_SALT
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x.view(np.int64)


def short_keys(words: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Delete-one keys of short word sequences (lengths < SHORT_WORDS; words: their 32-bit word
    hashes, flat): per sequence, the key of the whole sequence and of each sequence with one
    word taken out, SHORT_WORDS columns, the last key repeated when there are fewer. Two
    sequences one word apart (changed, added or dropped) share at least one key.

    A sequence's hash is sum(h[k] * M**(n-1-k)) mod 2**64; with P[i] the hash of its first i
    words, the hash without word i is P[n] + (P[i] * (1 - M) - h[i]) * M**(n-1-i), so every key
    is a few vectorised operations on a matrix of the sequences.
    """
    m = len(lengths)
    width = SHORT_WORDS
    if m == 0:
        return np.empty((0, width), dtype=np.int64)
    owner = np.repeat(np.arange(m), lengths)
    column = np.arange(len(words)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    h = np.zeros((m, width - 1), dtype=np.uint64)
    h[owner, column] = words
    prefix = np.zeros((m, width), dtype=np.uint64)
    deleted = np.arange(width - 1)
    with np.errstate(over="ignore"):
        for k in range(width - 1):
            prefix[:, k + 1] = prefix[:, k] * _SEQ_MULT + h[:, k]
        whole = prefix[np.arange(m), lengths]
        power = _SEQ_POW[np.clip(lengths[:, None] - 1 - deleted, 0, None)]
        without = whole[:, None] + (prefix[:, :-1] * (np.uint64(1) - _SEQ_MULT) - h) * power
    keys = np.concatenate(
        [
            _sequence_keys(whole, lengths)[:, None],
            _sequence_keys(without, np.broadcast_to(lengths[:, None] - 1, without.shape)),
        ],
        axis=1,
    )
    # Column c > 0 drops word c - 1: there are lengths + 1 real columns, repeat the last one.
    real = np.minimum(np.arange(width), lengths[:, None])
    return np.take_along_axis(keys, real, axis=1)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) == 0 and len(b) == 0:
        return 1.0
    both = np.intersect1d(a, b, assume_unique=True).size
    return both / (len(a) + len(b) - both)


@dataclass
class Fingerprints:
    """What the duplicate index keeps of each text, row i for ids[i] (fingerprints_of)."""

    ids: np.ndarray
    exact: list[str]
    signatures: np.ndarray  # MinHash of the tasks, NUM_PERM uint32 per row
    # KEY_WIDTH int64 per row: BANDS band keys, then a short task's delete-one keys (a long
    # task's last band key repeated: every row has the same width, repeats fold away in a set)
    keys: np.ndarray


@dataclass
class Corpus(Fingerprints):
    """Texts reduced to what the duplicate rules compare, row i for ids[i] (corpus_of)."""

    task: Shingles  # instruction + response
    passage: Shingles  # context ("" gives no shingles)
    # a short task's words, "instruction words\x1fresponse words"; "" for a long one
    short: list[str]

    def similarity(self, i: int, j: int, threshold: float) -> float | None:
        """Rows i and j's task similarity if they are near duplicates, else None."""
        return similarity_between(self, i, self, j, threshold)


def _one_word_apart(x: list[str], y: list[str]) -> tuple[int, tuple[str, str] | None] | None:
    """(0, None) for equal word lists; (1, (u, v)) when one word u of x is v in y; (1, None)
    when y has one word more or less; None when they are further apart."""
    if x == y:
        return 0, None
    if len(x) < len(y):
        x, y = y, x
    k = next((k for k, (u, v) in enumerate(zip(x, y, strict=False)) if u != v), len(y))
    if len(x) == len(y):
        return (1, (x[k], y[k])) if x[k + 1 :] == y[k + 1 :] else None
    return (1, None) if len(x) == len(y) + 1 and x[k + 1 :] == y[k:] else None


def _mistyped(u: str, v: str) -> bool:
    """u and v are one word spelt two ways: a plural s or es, two neighbouring letters swapped,
    a letter doubled or undoubled, one replaced by a key next to it on the keyboard, or one
    dropped or added after the first. Not two words apart by any other letter ("Gambia" and
    "Zambia", "Iran" and "Iraq", "mouse" and "moose" stay apart); numbers are never slips."""
    if not (u.isalpha() and v.isalpha()):
        return False
    if len(u) < len(v):
        u, v = v, u
    if u in (v + "s", v + "es"):
        return True
    k = next((k for k, (x, y) in enumerate(zip(u, v, strict=False)) if x != y), len(v))
    if len(u) == len(v):
        if u[k + 2 :] == v[k + 2 :] and u[k : k + 2] == v[k : k + 2][::-1]:
            return True
        return u[k + 1 :] == v[k + 1 :] and v[k] in _NEXT_KEYS.get(u[k], "")
    if len(u) != len(v) + 1 or u[k + 1 :] != v[k:]:
        return False
    if (k > 0 and u[k] == u[k - 1]) or (k + 1 < len(u) and u[k] == u[k + 1]):
        return True
    return k > 0


def _same_word(u: str, v: str) -> bool:
    """u and v are the same word re-typed: a/the, is/are, what/which..., or a slip of the keys."""
    group = _INTERCHANGEABLE.get(u)
    return (group is not None and group == _INTERCHANGEABLE.get(v)) or _mistyped(u, v)


def _short_compare(a: str, b: str) -> tuple[float | None, bool]:
    """Two short tasks ("instruction words\x1fresponse words"): (1 - words apart / the longer's
    words, False) when they are at most one word apart; (None, True) when they are two
    questions of one shape (one word of the question changed, not re-typed, and the same terse
    answer); (None, False) when they are further apart (the shingles decide)."""
    instruction_a, response_a = a.split("\x1f")
    instruction_b, response_b = b.split("\x1f")
    ia, ib = instruction_a.split(), instruction_b.split()
    ra, rb = response_a.split(), response_b.split()
    question = _one_word_apart(ia, ib)
    if question is None:
        return None, False
    answer = _one_word_apart(ra, rb)
    if answer is None or question[0] + answer[0] > 1:
        return None, False
    changed = question[1]
    if changed and answer[0] == 0 and len(ra) <= TERSE_WORDS and not _same_word(*changed):
        return None, True
    longer = max(len(ia) + len(ra), len(ib) + len(rb), 1)
    return 1 - (question[0] + answer[0]) / longer, False


def _compare(a: Corpus, i: int, b: Corpus, j: int, threshold: float) -> tuple[float | None, bool]:
    """similarity_between, and whether the two are template siblings (two questions of one
    shape: never duplicates)."""
    close = None
    if a.short[i] and b.short[j]:
        close, siblings = _short_compare(a.short[i], b.short[j])
        if siblings:
            return None, True
    pi, pj = a.passage.row(i), b.passage.row(j)
    if (len(pi) == 0) != (len(pj) == 0):
        return None, False
    task = jaccard(a.task.row(i), b.task.row(j))
    if close is not None:
        task = max(task, close)
    if task < threshold:
        return None, False
    if len(pi) and jaccard(pi, pj) < threshold:
        return None, False
    return task, False


def similarity_between(a: Corpus, i: int, b: Corpus, j: int, threshold: float) -> float | None:
    """Row i of `a` and row j of `b`: their task similarity if they are near duplicates (with
    passages as alike, when they have any), else None. Between two short tasks it is the
    higher of the shingles' Jaccard and 1 - words apart / words when they are one word apart,
    and template siblings are never duplicates (see the module docstring)."""
    return _compare(a, i, b, j, threshold)[0]


def template_siblings(a: Corpus, i: int, b: Corpus, j: int) -> bool:
    """Whether row i of `a` and row j of `b` are two questions of one shape ("Is Peru in South
    America? Yes." and "Is Chile in South America? Yes."): never duplicates, and a third entry
    one word from both is a copy of neither (see unchain)."""
    return bool(a.short[i] and b.short[j]) and _short_compare(a.short[i], b.short[j])[1]


def unchain(similarity: dict[tuple, float], siblings) -> dict[tuple, float]:
    """The pairs (a, b) -> similarity, a < b, without those of an entry that is one word from
    two template siblings: "Is located in Asia? Yes." is one word from "Is Peru located in
    Asia? Yes." and from "Is Chile located in Asia? Yes." and would chain every question of
    that shape into one cluster. `siblings`: pairs (a, b) found to be template siblings."""
    partners: dict = {}
    for a, b in similarity:
        partners.setdefault(a, set()).add(b)
        partners.setdefault(b, set()).add(a)
    dropped = set()
    for p, q in siblings:
        for hub in partners.get(p, set()) & partners.get(q, set()):
            dropped |= {(min(hub, p), max(hub, p)), (min(hub, q), max(hub, q))}
    return {pair: sim for pair, sim in similarity.items() if pair not in dropped}


def corpus_of(rows: list[tuple[int, str, str, str]], chunk: int = 4_000) -> Corpus:
    """(id, instruction, context, response) rows, in one process, a few thousand at a time so
    that normalised copies of the text never exist for more than one chunk."""
    return _reduced(rows, chunk, compared=True)


def fingerprints_of(rows: list[tuple[int, str, str, str]], chunk: int = 4_000) -> Fingerprints:
    """corpus_of without what only a comparison needs (the passages' shingles, the tasks'
    shingles and short words): what indexing the rows needs, and all a full rescan's first
    pass keeps. The passages are the longest texts, and reducing them half the work."""
    return _reduced(rows, chunk, compared=False)


def _reduced(rows, chunk: int, compared: bool) -> Fingerprints:
    ids, exact, tasks, passages, short, short_rows, minhash = [], [], [], [], [], [], []
    for first in range(0, len(rows), chunk):
        task_texts, passage_texts, splits = [], [], []
        for entry_id, instruction, context, response in rows[first : first + chunk]:
            ni, nc, nr = normalize(instruction), normalize(context), normalize(response)
            ids.append(entry_id)
            exact.append(_exact(ni, nc, nr))
            wi, wr = _words(ni), _words(nr)
            task_texts.append(wi + b" " + wr)
            if compared:
                splits.append((wi, wr))
                passage_texts.append(_words(nc))
        words, lengths = _word_hashes(task_texts)
        task = _shingle(words, lengths)
        minhash.append(signatures(task))
        is_short = lengths < SHORT_WORDS
        if compared:
            tasks.append(task)
            passages.append(shingle_texts(passage_texts))
            short.extend(
                (b" ".join(wi.split()) + b"\x1f" + b" ".join(wr.split())).decode() if small else ""
                for (wi, wr), small in zip(splits, is_short.tolist(), strict=True)
            )
        if is_short.any():
            owner = np.repeat(is_short, lengths)
            short_rows.append((first + np.flatnonzero(is_short), words[owner], lengths[is_short]))
    minhash = np.concatenate(minhash) if minhash else signatures(shingle_texts([]))
    fingerprints = Fingerprints(
        ids=np.array(ids, dtype=np.int64),
        exact=exact,
        signatures=minhash,
        keys=_keys(band_keys(minhash), short_rows),
    )
    if not compared:
        return fingerprints
    return Corpus(
        **vars(fingerprints),
        task=_concat(tasks) if tasks else shingle_texts([]),
        passage=_concat(passages) if passages else shingle_texts([]),
        short=short,
    )


def _keys(bands: np.ndarray, short_rows: list) -> np.ndarray:
    """Corpus.keys: band keys, then delete-one keys for the short rows (row numbers, word
    hashes, lengths) or the last band key repeated."""
    keys = np.empty((len(bands), KEY_WIDTH), dtype=np.int64)
    keys[:, :BANDS] = bands
    keys[:, BANDS:] = bands[:, -1:]
    for rows, words, lengths in short_rows:
        keys[rows, BANDS:] = short_keys(words, lengths)
    return keys


class Forked:
    """function(item) for each item, each in a forked child process that starts now, results
    back by pipe: this process goes on with other work (never with what the children were
    given: they see it as it was) and `result()` waits for them and combines their results
    (`combine`, a list by default). With `alone`, the work is done at once in this process
    instead (too little of it to pay for a fork). The rescans read and write the next block or
    chunk while the last one's children compute (fork_pipeline).

    Plain os.fork, not multiprocessing: it works inside a Celery prefork worker, whose daemonic
    processes multiprocessing refuses to let have children. Children inherit the parent's
    memory, so large inputs are not copied. The garbage collector is kept off those inherited
    objects (gc.freeze): a collection in a child would touch every page and copy them all,
    which cost more than the work split across the cores saved.
    """

    def __init__(self, function, items: list, combine=list, alone: bool = False):
        self.combine = combine
        self.children: list[tuple[int, int]] = []
        self.value = None
        if alone:
            self.value = combine([function(item) for item in items])
            return
        gc.freeze()
        try:
            for item in items:
                self.children.append(_fork_one(function, item))
        except BaseException:
            self.abandon()
            raise
        finally:
            gc.unfreeze()

    def result(self):
        if self.children:
            parts = []
            try:
                while self.children:
                    parts.append(_collect(*self.children.pop(0)))
            except BaseException:
                self.abandon()
                raise
            self.value = self.combine(parts)
        return self.value

    def abandon(self) -> None:
        """Stop the children still running and wait for them (after a failure). They are
        killed, not asked: a child blocked writing more than its pipe holds would not notice
        its pipe closed, as the children forked after it hold copies of its reading end."""
        children, self.children = self.children, []
        for pid, reader in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.close(reader)
        for pid, _reader in children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def worker_count(workers: int | None) -> int:
    """The forked processes to share work among: `workers`, or one per core (at most 4)."""
    return workers or min(os.cpu_count() or 1, 4)


def forked_over(rows, work, *, workers: int | None, parallel_from: int, combine) -> Forked:
    """work(part) for the rows split into one part per core (at most 4), in forked children
    started now; in this process at once with one core or fewer than `parallel_from` rows (a
    fork costs more than it saves). result() combines the parts' results in order."""
    workers = worker_count(workers)
    alone = workers < 2 or len(rows) < parallel_from
    step = max(1, len(rows) if alone else -(-len(rows) // workers))
    bounds = [(first, min(first + step, len(rows))) for first in range(0, len(rows), step)]
    return Forked(
        lambda bound: work(rows[bound[0] : bound[1]]),
        bounds or [(0, 0)],
        combine=combine,
        alone=alone,
    )


def fork_pipeline(items, start, finish) -> None:
    """start(item) for each item in turn (its work in forked children: a Forked), and
    finish(item, its result) one item behind: while one item's children compute, this process
    reads the next item and finishes the one before. A failure stops the children still
    running before it is raised. The rescans' loop over their blocks and chunks."""
    pending = None
    try:
        for item in items:
            last = pending
            result = last[1].result() if last else None
            pending = (item, start(item))
            if last is not None:
                finish(last[0], result)
            last = result = None  # not held while the next item is read
        if pending is not None:
            last, pending = pending, None
            finish(last[0], last[1].result())
    finally:
        if pending is not None:
            pending[1].abandon()


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


# Fewer rows than this are reduced in this process: a fork costs more than it saves.
PARALLEL_FROM = 5_000


def corpus_parallel(rows: list[tuple[int, str, str, str]], workers: int | None = None) -> Corpus:
    """The same Corpus, built by one forked process per core (the rows are not copied over)."""
    return forked_over(
        rows, corpus_of, workers=workers, parallel_from=PARALLEL_FROM, combine=_corpus_join
    ).result()


def fingerprints_forked(
    rows: list[tuple[int, str, str, str]], workers: int | None = None
) -> Forked:
    """fingerprints_of, started in one forked process per core: its result() is the
    Fingerprints."""
    return forked_over(
        rows,
        fingerprints_of,
        workers=workers,
        parallel_from=PARALLEL_FROM,
        combine=_fingerprints_join,
    )


def _fingerprints_join(parts: list[Fingerprints]) -> Fingerprints:
    if len(parts) == 1:
        return parts[0]
    return Fingerprints(
        ids=np.concatenate([p.ids for p in parts]),
        exact=[h for p in parts for h in p.exact],
        signatures=np.concatenate([p.signatures for p in parts]),
        keys=np.concatenate([p.keys for p in parts]),
    )


def _corpus_join(parts: list[Corpus]) -> Corpus:
    if len(parts) == 1:
        return parts[0]
    return Corpus(
        **vars(_fingerprints_join(parts)),
        task=_concat([p.task for p in parts]),
        passage=_concat([p.passage for p in parts]),
        short=[s for p in parts for s in p.short],
    )


def key_rows(keys: np.ndarray, first: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Corpus.keys flattened: each row's keys without the padding (which repeats the key before
    it; a long row keeps BANDS), and the row number, counted from `first`, each came from. A
    full rescan keeps only these of each block of the corpus it streams."""
    fresh = np.ones(keys.shape, dtype=bool)
    fresh[:, 1:] = keys[:, 1:] != keys[:, :-1]
    # 32-bit row numbers: a full rescan keeps some 27 of them an entry.
    rows = np.repeat(np.arange(first, first + len(keys), dtype=np.int32), fresh.sum(axis=1))
    return keys[fresh], rows


def candidate_rows(keys: np.ndarray, max_bucket: int = MAX_BUCKET) -> np.ndarray:
    """Pairs of row numbers sharing a key (an LSH bucket or a delete-one key), as an (n, 2)
    array with i < j, sorted.

    Buckets with more than `max_bucket` rows (boilerplate everyone shares) are skipped. A key
    repeated within a row (the padding of Corpus.keys) counts once.
    """
    return candidate_pairs(*key_rows(keys), len(keys), max_bucket)


def candidate_pairs(
    flat_keys: np.ndarray,
    flat_rows: np.ndarray,
    n: int,
    max_bucket: int = MAX_BUCKET,
    parts: int = 1,
) -> np.ndarray:
    """candidate_rows over key_rows' flat keys and their rows (of `n` rows in all). `parts`:
    the keys are sorted a share at a time (by key modulo `parts`: a bucket never spans two), so
    that the sort's copies stay a fraction of the keys at a million entries."""
    return candidate_pairs_forked(
        flat_keys, flat_rows, n, max_bucket=max_bucket, parts=parts, workers=1
    ).result()


def candidate_pairs_forked(
    flat_keys: np.ndarray,
    flat_rows: np.ndarray,
    n: int,
    *,
    parts: int,
    workers: int | None,
    max_bucket: int = MAX_BUCKET,
) -> Forked:
    """candidate_pairs, its parts shared out among forked processes (`workers`, each sorting
    its parts in turn) that start now; result() is the pairs. A full rescan's sorts of a
    million entries' keys took 10 s on one core while the other had nothing to do. With fewer
    than PARALLEL_FROM rows it is done at once in this process."""
    workers = worker_count(workers)
    alone = workers < 2 or parts < 2 or n < PARALLEL_FROM
    shares = (
        [range(parts)]
        if alone
        else [range(first, parts, workers) for first in range(min(workers, parts))]
    )
    # Each key's part, worked out once for every share (a byte or two a key).
    part_of = (flat_keys % parts).astype(np.uint16) if parts > 1 else None

    def share_codes(share) -> np.ndarray:
        found = []
        for part in share:
            if part_of is None:
                found.append(_bucket_codes(flat_keys, flat_rows, n, max_bucket))
            else:
                chosen = part_of == part
                found.append(_bucket_codes(flat_keys[chosen], flat_rows[chosen], n, max_bucket))
        # Sorted and without repeats where it was found: less to send, less to sort after.
        return np.unique(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)

    def combine(found: list[np.ndarray]) -> np.ndarray:
        codes = np.unique(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)
        return np.stack(np.divmod(codes, n), axis=1).astype(np.int64).reshape(-1, 2)

    return Forked(share_codes, shares, combine=combine, alone=alone)


def _bucket_codes(
    flat_keys: np.ndarray, flat_rows: np.ndarray, n: int, max_bucket: int
) -> np.ndarray:
    """The pairs (i < j) of rows sharing a bucket of these keys, each as i * n + j (repeats
    included)."""
    if len(flat_keys) == 0:
        return np.empty(0, dtype=np.int64)
    order = np.argsort(flat_keys)
    flat_keys, flat_rows = flat_keys[order], flat_rows[order].astype(np.int64)
    boundaries = np.flatnonzero(np.diff(flat_keys)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(flat_keys)]])
    sizes = ends - starts
    wanted = (sizes > 1) & (sizes <= max_bucket)
    # Every pair of positions p < q within a wanted bucket, one distance q - p at a time.
    position = _positions(starts[wanted], sizes[wanted])
    end = np.repeat(ends[wanted], sizes[wanted])
    pairs = []
    distance = 1
    while len(position):
        inside = position + distance < end
        position, end = position[inside], end[inside]
        pairs.append(flat_rows[position] * n + flat_rows[position + distance])
        distance += 1
    codes = np.concatenate(pairs) if pairs else np.empty(0, dtype=np.int64)
    left, right = np.divmod(codes, n)
    low, high = np.minimum(left, right), np.maximum(left, right)
    return (low * n + high)[low != high]


def _positions(starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """start, start + 1, ..., start + size - 1 for each bucket, in one array."""
    if len(sizes) == 0:
        return np.empty(0, dtype=np.int64)
    return np.repeat(starts - np.cumsum(sizes) + sizes, sizes) + np.arange(sizes.sum())


def _summaries(words: list[str]) -> np.ndarray:
    """What _screen needs to know of each word, packed in a uint64: its length (5 bits), first
    and second characters (8 bits each), interchangeable group (4 bits), and its characters
    counted in 8 buckets of 4 bits (a slip of the keys changes those counts by 2 at most)."""
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    codes = np.frombuffer("".join(words).encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    starts = np.cumsum(lengths) - lengths
    owner = np.repeat(np.arange(len(words)), lengths)
    counts = np.bincount(owner * 8 + codes % 8, minlength=len(words) * 8).reshape(-1, 8)
    letters = (np.minimum(counts, 15) << (4 * np.arange(8))).sum(axis=1)
    first = codes[starts] & 0xFF
    second = np.where(lengths > 1, codes[np.minimum(starts + 1, len(codes) - 1)], 0) & 0xFF
    group = np.fromiter(
        (_INTERCHANGEABLE.get(w, -1) + 1 for w in words), dtype=np.int64, count=len(words)
    )
    packed = np.minimum(lengths, 31) | first << 5 | second << 13 | group << 21 | letters << 25
    return packed.astype(np.uint64)


def _short_table(corpus: Corpus):
    """The short rows' words and shingles for _screen, as padded matrices (a row per corpus
    row, zeros past the end): per row its word count (-1 for a long row) and its question's;
    per word its hash and a summary (length, first two characters, interchangeable group);
    its shingles (sorted, unique) and how many."""
    n, width = len(corpus.short), SHORT_WORDS - 1
    rows, asked, sizes, tokens = [], [], [], []
    for r, text in enumerate(corpus.short):
        if text:
            instruction, response = text.split("\x1f")
            question = instruction.split()
            answer = response.split()
            rows.append(r)
            asked.append(len(question))
            sizes.append(len(question) + len(answer))
            tokens += question
            tokens += answer
    rows = np.array(rows, dtype=np.int64)
    sizes = np.array(sizes, dtype=np.int64)
    owner = np.repeat(rows, sizes)
    column = np.arange(len(tokens)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    words = np.full(n, -1, dtype=np.int64)
    words[rows] = sizes
    question = np.zeros(n, dtype=np.int64)
    question[rows] = asked
    hashed = np.fromiter(map(zlib.crc32, map(str.encode, tokens)), np.uint32, len(tokens))
    hashes = np.zeros((n, width), dtype=np.uint32)
    hashes[owner, column] = hashed
    _, first, inverse = np.unique(hashed, return_index=True, return_inverse=True)
    summary = np.zeros((n, width), dtype=np.uint64)
    summary[owner, column] = _summaries([tokens[k] for k in first.tolist()])[inverse]
    count = np.diff(corpus.task.offsets)[rows]
    column = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    shingles = np.zeros((n, width), dtype=np.uint32)
    shingles[np.repeat(rows, count), column] = corpus.task.values[
        np.repeat(corpus.task.offsets[rows], count) + column
    ]
    shingled = np.zeros(n, dtype=np.int64)
    shingled[rows] = count
    return words, question, hashes, summary, shingles, shingled


def _bits(packed: np.ndarray, shift: int, bits: int) -> np.ndarray:
    return ((packed >> np.uint64(shift)) & np.uint64((1 << bits) - 1)).astype(np.int64)


def _screen(corpus: Corpus, pairs: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Settle in bulk the candidate pairs of two short tasks that _compare would settle without
    a Python call each (families of one shape make millions of them): (template siblings, the
    pairs still to compare).

    - Template siblings: as many words, the same but for one word of the question, the same
      terse answer, and two words that cannot be one word re-typed (_same_word needs them of
      about one length, with a first letter in common, or their first two letters swapped, or
      the rest the same, unless both are a/the-like).
    - No pair: two words apart or more, and shingles less alike than the threshold: when
      their MinHash signatures agree in fewer than threshold - 0.3 of their 128 places (a pair
      at the threshold does so with odds of 1e-14), else by counting the shingles in common.
    """
    if len(pairs) == 0 or not any(corpus.short):
        return pairs[:0], pairs
    words, question, hashes, summary, shingles, shingled = _short_table(corpus)
    settled = np.zeros(len(pairs), dtype=bool)
    siblings = []
    step = 50_000
    width = SHORT_WORDS - 1
    for first in range(0, len(pairs), step):
        chunk = pairs[first : first + step]
        both = (words[chunk[:, 0]] >= 0) & (words[chunk[:, 1]] >= 0)
        i, j = chunk[both, 0], chunk[both, 1]
        # One word changed: as many words, one place where they differ.
        differ = hashes[i] != hashes[j]
        apart = differ.sum(axis=1)
        at = differ.argmax(axis=1)
        same = words[i] == words[j]
        # One word added: the longer one is the shorter one with a word put in at its first
        # difference (a the longer, b the shorter).
        longer = words[i] > words[j]
        a = np.where(longer[:, None], hashes[i], hashes[j])
        b = np.where(longer[:, None], hashes[j], hashes[i])
        short_words = np.minimum(words[i], words[j])
        start = np.where(differ.any(axis=1), at, short_words)
        place = np.arange(width - 1)
        tail = (place >= start[:, None]) & (place < short_words[:, None])
        added = (np.abs(words[i] - words[j]) == 1) & ((a[:, 1:] == b[:, :-1]) | ~tail).all(axis=1)
        near = (same & (apart <= 1)) | added
        # Template siblings among the changed ones.
        one = same & (apart == 1) & (question[i] == question[j]) & (at < question[i])
        one &= words[i] - question[i] <= TERSE_WORDS
        u, v = summary[i, at], summary[j, at]
        length_u, length_v = _bits(u, 0, 5), _bits(v, 0, 5)
        first_u, first_v = _bits(u, 5, 8), _bits(v, 5, 8)
        second_u, second_v = _bits(u, 13, 8), _bits(v, 13, 8)
        group_u, group_v = _bits(u, 21, 4), _bits(v, 21, 4)
        letters = sum(np.abs(_bits(u, 25 + 4 * k, 4) - _bits(v, 25 + 4 * k, 4)) for k in range(8))
        maybe = (group_u > 0) & (group_u == group_v)
        maybe |= (
            (np.abs(length_u - length_v) <= 2)
            & (letters <= 2)
            & (
                (first_u == first_v)
                | ((first_u == second_v) & (second_u == first_v))
                | ((length_u == length_v) & (second_u == second_v))
            )
        )
        alike = one & ~maybe
        siblings.append(np.stack([i[alike], j[alike]], axis=1))
        # The others are a pair only if their shingles are as alike as the threshold.
        far = ~near & ~alike
        agree = (corpus.signatures[i[far]] == corpus.signatures[j[far]]).mean(axis=1)
        unlike = np.zeros(len(i), dtype=bool)
        unlike[np.flatnonzero(far)[agree < threshold - 0.3]] = True
        check = np.flatnonzero(far & ~unlike)
        ci, cj = i[check], j[check]
        held_i = np.arange(width) < shingled[ci][:, None]
        held_j = np.arange(width) < shingled[cj][:, None]
        common = (
            (shingles[ci][:, :, None] == shingles[cj][:, None, :])
            & held_i[:, :, None]
            & held_j[:, None, :]
        ).sum(axis=(1, 2))
        union = shingled[ci] + shingled[cj] - common
        unlike[check] = np.where(union > 0, common / np.maximum(union, 1), 1.0) < threshold
        decided = alike | unlike
        settled[first + np.flatnonzero(both)[decided]] = True
    return np.concatenate(siblings), pairs[~settled]


def exact_rows(digests: np.ndarray) -> np.ndarray:
    """Pairs of row numbers (i < j) whose exact hashes are equal, as an (n, 2) array: every pair
    of each group of copies. `digests`: the rows' exact hashes, as a bytes array ("S64")."""
    order = np.argsort(digests, kind="stable")
    ordered = digests[order]
    boundaries = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
    starts = np.concatenate([[0], boundaries])
    sizes = np.diff(np.concatenate([starts, [len(ordered)]]))
    pairs = []
    for start, size in zip(starts[sizes > 1].tolist(), sizes[sizes > 1].tolist(), strict=True):
        rows = np.sort(order[start : start + size])
        first, second = np.triu_indices(size, k=1)
        pairs.append(np.stack([rows[first], rows[second]], axis=1))
    return np.concatenate(pairs) if pairs else np.empty((0, 2), dtype=np.int64)


def duplicate_pairs(corpus: Corpus, threshold: float) -> list[tuple[int, int, float]]:
    """Every (id, id, similarity) pair of duplicates: exact ones (similarity 1.0) and near ones
    confirmed by their true similarity (similarity_between), less those of an entry one word
    from two template siblings (unchain)."""
    exact = exact_rows(np.array(corpus.exact, dtype="S64"))
    return pairs_confirmed(corpus, exact, candidate_rows(corpus.keys), threshold)


def pairs_confirmed(
    corpus: Corpus, exact: np.ndarray, candidates: np.ndarray, threshold: float
) -> list[tuple[int, int, float]]:
    """duplicate_pairs given the corpus rows' exact pairs (exact_rows) and candidate pairs
    (candidate_rows, sorted): a full rescan finds both across the whole corpus, block by block,
    and hands over only the rows they name."""
    found: dict[tuple[int, int], float] = dict.fromkeys(map(tuple, exact.tolist()), 1.0)
    screened, undecided = _screen(corpus, candidates, threshold)
    siblings = []
    for i, j in undecided.tolist():
        if (i, j) in found:
            continue
        similar, alike = _compare(corpus, i, corpus, j, threshold)
        if similar is not None:
            found[(i, j)] = similar
        elif alike:
            siblings.append((i, j))
    if len(screened) or siblings:
        # Only siblings both paired with something can make a third entry ambiguous.
        paired = np.zeros(len(corpus.ids), dtype=bool)
        paired[np.array(list(found), dtype=np.int64).reshape(-1, 2).ravel()] = True
        screened = screened[paired[screened[:, 0]] & paired[screened[:, 1]]]
        found = unchain(found, screened.tolist() + siblings)
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
