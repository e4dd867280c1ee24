"""Benchmark duplicate detection on a synthetic corpus with planted exact and near duplicates.

For each size (default 15,000 and 150,000 records of Dolly-like length) it prints the time and
peak memory of Flock's full rescan (all cores), its recall and precision on the planted pairs,
and the same corpus through datasketch's MinHash + MinHashLSH in the same run, for the ratio.
Then the same for a corpus of short records (under 30 words, as a third of Dolly's are) made of
families of one shape ("What is the capital of X?", "Is X in Asia?", "Which of these are
fish: ...?") with 4% copies one word apart: recall by kind of edit, precision, and how many
questions of one shape were taken for copies of each other (must be none when their answers
differ). Then it fills a throwaway database (SQLite, or PostgreSQL with DATABASE_URL) with the
largest corpora's index and times single-entry checks against it, as the writing page makes
them.

    .venv/bin/python -m bench.dedupe [--sizes 15000 150000] [--skip-datasketch] [--skip-db]
"""

import argparse
import contextlib
import itertools
import multiprocessing
import os
import random
import resource
import threading
import time
from pathlib import Path

from bench.common import percentiles, throwaway_database  # sets Django up: import it first

# isort: split
from django.conf import settings
from django.db import connection
from django.utils import timezone

from quality import dedupe

THRESHOLD = 0.8


def make_corpus(size: int, seed: int = 7) -> tuple[list[tuple], list[tuple[int, int]]]:
    """Dolly-like rows (id, instruction, context, response) with 1% exact copies and 2% near
    copies (one to three words changed, added or dropped); returns rows and planted pairs."""
    rng = random.Random(seed)
    vocabulary = [
        f"{rng.choice('bcdfghjklmnprstvw')}{rng.choice('aeiou')}{i}" for i in range(40_000)
    ]
    cumulative = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(vocabulary))))

    def words(n: int) -> list[str]:  # Zipf-distributed, as in prose
        return rng.choices(vocabulary, cum_weights=cumulative, k=n)

    originals = size - size * 3 // 100
    rows = []
    for i in range(originals):
        context = " ".join(words(rng.randint(80, 200))) if rng.random() < 0.4 else ""
        rows.append(
            (i, " ".join(words(rng.randint(8, 25))), context, " ".join(words(rng.randint(30, 150))))
        )
    planted = []
    while len(rows) < size:
        source = rng.randrange(originals)
        _, instruction, context, response = rows[source]
        if len(planted) % 3 == 0:
            copy = (instruction.upper(), context, response)  # exact, up to case
        else:
            edited = response.split()
            for _ in range(rng.randint(1, 3)):
                spot = rng.randrange(len(edited))
                action = rng.random()
                if action < 0.4:
                    edited[spot] = words(1)[0]
                elif action < 0.7:
                    edited.insert(spot, words(1)[0])
                elif len(edited) > 10:
                    del edited[spot]
            copy = (instruction, context, " ".join(edited))
        planted.append((source, len(rows)))
        rows.append((len(rows), *copy))
    return rows, planted


def score(rows, found_pairs, planted):
    """Recall on planted pairs that truly are duplicates; precision over every pair found."""
    truth_corpus = dedupe.corpus_of(rows)
    row_of = {int(entry_id): row for row, entry_id in enumerate(truth_corpus.ids)}

    def is_duplicate(a, b) -> bool:
        ra, rb = row_of[a], row_of[b]
        return truth_corpus.exact[ra] == truth_corpus.exact[rb] or (
            truth_corpus.similarity(ra, rb, THRESHOLD) is not None
        )

    wanted = {tuple(sorted(p)) for p in planted if is_duplicate(*p)}
    found = {tuple(sorted(p)) for p in found_pairs}
    recall = len(wanted & found) / len(wanted) if wanted else 1.0
    correct = sum(1 for a, b in found if is_duplicate(a, b))
    precision = correct / len(found) if found else 1.0
    return recall, precision, len(wanted)


# --- The short corpus ------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


# The head of the short corpus's Zipf vocabulary: the words questions are mostly made of.
COMMON = _words(
    "the of and to a in is it that for was on are as with by this be at from or have an they "
    "which one you were all we when there can what their also do more if most about its into "
    "many some used how these two time has other than first only made called may after who"
)
REGIONS = [
    "South America",
    "Africa",
    "Europe",
    "Asia",
    "Oceania",
    "the Caribbean",
    "Central America",
    "the Middle East",
    "Scandinavia",
    "the Balkans",
    "Southeast Asia",
    "North America",
]
CLASS_PAIRS = [
    ("fish", "mammal"),
    ("fruit", "vegetable"),
    ("bird", "reptile"),
    ("river", "mountain"),
    ("city", "country"),
    ("tree", "flower"),
    ("insect", "spider"),
    ("string instrument", "wind instrument"),
    ("planet", "star"),
    ("noun", "verb"),
]
CATEGORIES = _words("fish birds fruits trees mammals insects flowers spices vegetables gemstones")
# One-word edits a person re-typing a record makes: a word added, one of a/the, is/are, ...
# swapped, a typo, or another word in its place.
ADDED = _words("the a please also exactly just really very here now")
SWAP = {
    u: v
    for pair in [
        ("a", "the"),
        ("is", "are"),
        ("what", "which"),
        ("in", "on"),
        ("this", "that"),
        ("me", "us"),
        ("does", "do"),
        ("these", "those"),
        ("of", "in"),
    ]
    for u, v in (pair, pair[::-1])
}
# A slip of the finger hits a key next to the right one (QWERTY rows are offset by a quarter
# and three quarters of a key).
KEY_AT = {
    key: (row, col + (0, 0.25, 0.75)[row])
    for row, line in enumerate(["qwertyuiop", "asdfghjkl", "zxcvbnm"])
    for col, key in enumerate(line)
}
NEIGHBOURS = {
    key: "".join(
        other
        for other, (r, x) in KEY_AT.items()
        if other != key and abs(r - row) <= 1 and abs(x - at) <= (1 if r == row else 0.75)
    )
    for key, (row, at) in KEY_AT.items()
}
ONSETS = _words("b c d f g h j k l m n p r s t v w z br ch cr dr gr kh pl sh st tr th")
NUCLEI = _words("a e i o u a e i o u ai ea ou ia")
CODAS = ["", "", "", "n", "r", "s", "l", "m", "t", "nd", "rk"]


def _names(rng: random.Random, count: int) -> list[str]:
    """Distinct made-up proper names of 2-3 syllables (Kelorand, Tranu, ...), letters only."""
    out, seen = [], set()
    while len(out) < count:
        name = "".join(
            rng.choice(ONSETS) + rng.choice(NUCLEI) + rng.choice(CODAS)
            for _ in range(rng.randint(2, 3))
        )
        if name not in seen and len(name) >= 4:
            seen.add(name)
            out.append(name.capitalize())
    return out


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


class ShortRecords:
    """Dolly-like short records (open_qa, classification, brainstorming) from families of one
    shape: per record (instruction, response, family), where records of one family are the
    same question about another thing (a country, a list of items), their answers different
    (a capital) or, for yes/no and either-or questions, often the same."""

    def __init__(self, rng: random.Random, names: int):
        self.rng = rng
        self.names = iter(_names(rng, names))
        words = _names(rng, 20_000)
        self.vocabulary = COMMON + [w.lower() for w in words]
        self.cumulative = list(
            itertools.accumulate(1 / (rank + 1) for rank in range(len(self.vocabulary)))
        )
        self.members = {k: _names(rng, 300) for k in CATEGORIES}
        self.others = _names(rng, 1_000)

    def words(self, n: int) -> list[str]:
        return self.rng.choices(self.vocabulary, cum_weights=self.cumulative, k=n)

    def record(self) -> tuple[str, str, tuple]:
        rng = self.rng
        kind = rng.choices(
            ["capital", "region", "either", "which", "author", "ideas", "free"],
            weights=[15, 15, 10, 15, 10, 15, 20],
        )[0]
        x = next(self.names)
        if kind == "capital":
            frame = rng.randrange(4)
            question = [
                f"What is the capital of {x}?",
                f"What is the capital city of {x}?",
                f"Which city is the capital of {x}?",
                f"Name the capital of {x}.",
            ][frame]
            y = next(self.names)
            style = rng.choices([0, 1, 2], weights=[6, 2, 2])[0]
            answer = [f"{y}.", f"The capital of {x} is {y}.", f"{y} is the capital of {x}."][style]
            return question, answer, (kind, frame, style)
        if kind == "region":
            frame, region = rng.randrange(4), rng.choice(REGIONS)
            question = [
                f"Is {x} in {region}?",
                f"Is {x} a country in {region}?",
                f"Is {x} located in {region}?",
                f"Does {x} lie in {region}?",
            ][frame]
            answer = rng.choice(["Yes.", "No.", "Yes, it is.", "No, it is not."])
            return question, answer, (kind, frame, region)
        if kind == "either":
            frame, (a, b) = rng.randrange(3), rng.choice(CLASS_PAIRS)
            a, b = (a, b) if rng.random() < 0.5 else (b, a)
            truth = rng.choice([a, b])
            question = [
                f"Is a {x} a {a} or a {b}?",
                f"Is {x} a {a} or a {b}?",
                f"Classify {x} as a {a} or a {b}.",
            ][frame]
            style = rng.choices([0, 1, 2], weights=[6, 2, 2])[0]
            answer = [f"{truth.capitalize()}.", f"It is a {truth}.", f"{x} is a {truth}."][style]
            return question, answer, (kind, frame, a, b, style)
        if kind == "which":
            frame, category = rng.randrange(4), rng.choice(CATEGORIES)
            chosen = rng.sample(self.members[category], rng.randint(1, 3))
            items = chosen + rng.sample(self.others, rng.randint(1, 3))
            rng.shuffle(items)
            listed = ", ".join(items)
            question = [
                f"Which of these are {category}: {listed}?",
                f"Which of the following are {category}? {listed}",
                f"From this list, which are {category}: {listed}?",
                f"Identify which of these are {category}: {listed}.",
            ][frame]
            members = [item for item in items if item in chosen]
            style = rng.randrange(2)
            answer = [f"{_listed(members)}.", f"The {category} are {_listed(members)}."][style]
            return question, answer, (kind, frame, category, style)
        if kind == "author":
            frame = rng.randrange(3)
            title = " ".join(self.words(rng.randint(1, 4))).title()
            question = [
                f"Who wrote {title}?",
                f"Who is the author of {title}?",
                f"Who wrote the book {title}?",
            ][frame]
            author = f"{x} {next(self.names)}"
            style = rng.choices([0, 1], weights=[7, 3])[0]
            answer = [f"{author}.", f"{title} was written by {author}."][style]
            return question, answer, (kind, frame, style)
        if kind == "ideas":
            frame, n = rng.randrange(3), rng.randint(3, 5)
            thing = " ".join(self.words(rng.randint(1, 2)))
            count = ["three", "four", "five"][n - 3]
            question = [
                f"Give me {count} names for a {thing}.",
                f"List {count} ideas for a {thing}.",
                f"What are {count} good gifts for a {thing}?",
            ][frame]
            ideas = [" ".join(self.words(rng.randint(1, 2))).capitalize() for _ in range(n)]
            return question, _listed(ideas) + ".", (kind, frame, n)
        start = rng.choice(["What", "Who", "Where", "When", "Why", "How", "Which", "Is"])
        question = f"{start} {' '.join(self.words(rng.randint(3, 11)))}?"
        answer = " ".join(self.words(rng.randint(1, 15))).capitalize() + "."
        return question, answer, (kind,)

    def typo(self, word: str) -> str:
        rng = self.rng
        letters = [k for k, ch in enumerate(word) if ch.isalpha()]
        k = rng.choice(letters)
        how = rng.choice(
            ["swap", "drop", "double", "key"] if len(letters) > 1 else ["double", "key"]
        )
        if how == "swap" and k + 1 < len(word):
            return word[:k] + word[k + 1] + word[k] + word[k + 2 :]
        if how == "drop":
            return word[:k] + word[k + 1 :]
        if how == "double":
            return word[: k + 1] + word[k:]
        near = NEIGHBOURS.get(word[k].lower(), "e")
        return word[:k] + rng.choice(near) + word[k + 1 :]

    def edit(self, instruction: str, response: str) -> tuple[str, str, str, str]:
        """One word of the record changed, added or dropped, at a random place (each a third of
        the time): (instruction, response, what was done, where). A word added is one of ADDED
        or any word of the vocabulary, half and half. A word changed is, as when re-typing, a
        slip of the keys (a letter swapped with the next, dropped, doubled, or hit next to),
        or for a/the, is/are, what/which... the other one (30%); 10% of the time it is any
        other word instead, which in a question with a terse answer looks just like another
        question of the family, and is not caught there (see quality/dedupe.py)."""
        rng = self.rng
        fields = [instruction.split(), response.split()]
        while True:
            place = rng.randrange(len(fields[0]) + len(fields[1]))
            field = 0 if place < len(fields[0]) else 1
            spot = place - field * len(fields[0])
            tokens = list(fields[field])
            what = rng.choice(["change", "add", "drop"])
            if what == "drop":
                if len(tokens) < 2:
                    continue
                del tokens[spot]
            elif what == "add":
                word = rng.choice(ADDED) if rng.random() < 0.5 else self.words(1)[0]
                tokens.insert(spot, word)
            else:
                token = tokens[spot]
                core = token.strip(".,?!:;")
                tail = token[len(core) :] if token.startswith(core) else ""
                if not core:
                    continue
                how = rng.random()
                if how < 0.1:
                    new, what = self.words(1)[0], "change: another word"
                elif how < 0.4 and core.lower() in SWAP:
                    new, what = SWAP[core.lower()], "change: a/the, is/are..."
                else:
                    new, what = self.typo(core), "change: typo"
                if new.lower() == core.lower():
                    continue
                tokens[spot] = new + tail
            edited = [list(fields[0]), list(fields[1])]
            edited[field] = tokens
            return (
                " ".join(edited[0]),
                " ".join(edited[1]),
                what,
                ["instruction", "response"][field],
            )


def make_short_corpus(size: int, seed: int = 7):
    """Short records (instruction + response under 30 words) from families of one shape, and 4%
    planted copies of them with one word changed, added or dropped. Returns the rows, the
    planted pairs (source, copy, what was done, where) and each original's family and answer."""
    rng = random.Random(seed)
    maker = ShortRecords(rng, names=max(400_000, 2 * size + 100_000))  # 1-2 a record, retries
    originals = size - size * 4 // 100
    rows, families, seen = [], [], set()
    while len(rows) < originals:
        instruction, response, family = maker.record()
        text = dedupe.normalize(f"{instruction}\x1f{response}")
        if text in seen or len(f"{instruction} {response}".split()) >= dedupe.SHORT_WORDS:
            continue
        seen.add(text)
        rows.append((len(rows), instruction, "", response))
        families.append((family, dedupe.normalize(response)))
    planted = []
    while len(rows) < size:
        source = rng.randrange(originals)
        instruction, response, what, where = maker.edit(rows[source][1], rows[source][3])
        text = dedupe.normalize(f"{instruction}\x1f{response}")
        if text in seen:
            continue
        seen.add(text)
        planted.append((source, len(rows), what, where))
        rows.append((len(rows), instruction, "", response))
    return rows, planted, families


def score_short(rows, found_pairs, planted, families):
    """Recall over the planted one-word edits (by what was done, where); precision over every
    pair found (right when both are copies of one record, or a copy and its source); and of the
    wrong ones, how many are two originals of one family (the same question about two things)
    with different answers, or with the same answer, and how many involve a copy."""
    group = {row[0]: row[0] for row in rows}
    for source, copy, _, _ in planted:
        group[copy] = source
    found = {tuple(sorted(p)) for p in found_pairs}
    caught: dict[tuple[str, str], list[int]] = {}
    for source, copy, what, where in planted:
        tally = caught.setdefault((what, where), [0, 0])
        tally[0] += (min(source, copy), max(source, copy)) in found
        tally[1] += 1
    recall = sum(t[0] for t in caught.values()) / max(1, len(planted))
    correct = sum(1 for a, b in found if group[a] == group[b])
    precision = correct / len(found) if found else 1.0
    siblings_other, siblings_same, with_a_copy = 0, 0, 0
    for a, b in found:
        if group[a] == group[b]:
            continue
        if a != group[a] or b != group[b]:
            with_a_copy += 1
        elif families[a][0] == families[b][0]:
            if families[a][1] == families[b][1]:
                siblings_same += 1
            else:
                siblings_other += 1
    return recall, precision, caught, (siblings_other, siblings_same, with_a_copy)


class PssSampler(threading.Thread):
    """Polls the proportional set size (shared pages split between their sharers) of this
    process and its children: the memory the job really holds, counted once."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak_mb = 0.0
        self._done = threading.Event()

    @staticmethod
    def _pss_kb(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def _family(self) -> list[int]:
        pids = [os.getpid()]
        for task in Path(f"/proc/{os.getpid()}/task").iterdir():
            with contextlib.suppress(OSError):
                pids += [int(p) for p in (task / "children").read_text().split()]
        return pids

    def run(self):
        while not self._done.wait(0.05):
            self.peak_mb = max(self.peak_mb, sum(map(self._pss_kb, self._family())) / 1024)

    def stop(self):
        self._done.set()
        self.join()


def flock_rescan(rows):
    """The rescan in a forked process of its own, so its peak memory is measured alone
    (that process and the workers it starts; the rows are inherited, as the job reads them)."""
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe()

    def run():
        sampler = PssSampler()
        sampler.start()
        started = time.perf_counter()
        corpus = dedupe.corpus_parallel(rows)
        pairs = dedupe.duplicate_pairs(corpus, THRESHOLD)
        groups = dedupe.clusters(pairs)
        seconds = time.perf_counter() - started
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        sampler.stop()
        # Children's ru_maxrss is the largest single worker's peak.
        result = (seconds, [(a, b) for a, b, _ in pairs], len(groups), own / 1024, workers / 1024)
        child.send((*result, sampler.peak_mb))

    process = context.Process(target=run)
    process.start()
    result = parent.recv()
    process.join()
    return result


def datasketch_rescan(rows):
    from datasketch import MinHash, MinHashLSH

    started = time.perf_counter()
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=128)
    signatures = {}
    for entry_id, instruction, _context, response in rows:
        words = dedupe.normalize(f"{instruction} {response}").split()
        grams = {" ".join(words[k : k + 3]).encode() for k in range(max(len(words) - 2, 1))}
        minhash = MinHash(num_perm=128)
        minhash.update_batch(list(grams))
        signatures[entry_id] = minhash
        lsh.insert(entry_id, minhash)
    pairs = set()
    for entry_id, minhash in signatures.items():
        for other in lsh.query(minhash):
            if other != entry_id:
                pairs.add(tuple(sorted((entry_id, other))))
    return time.perf_counter() - started, pairs


def index_entries(rows, username: str, *, index: bool = True) -> list[int]:
    """Store the rows as accepted entries of one author and (unless `index` is false) put them
    in the duplicate index, as submissions are; returns their entry ids in row order."""
    from django.contrib.auth import get_user_model

    from annotation.models import Category, Entry, EntryStatus
    from quality import services

    author = get_user_model().objects.create(username=username)
    category = Category.objects.get(slug="open_qa")
    now = timezone.now()
    ids = []
    for start in range(0, len(rows), 5_000):
        created = Entry.objects.bulk_create(
            [
                Entry(
                    author=author,
                    category=category,
                    status=EntryStatus.ACCEPTED,
                    instruction=instruction,
                    context=context,
                    response=response,
                    submitted_at=now,
                )
                for _, instruction, context, response in rows[start : start + 5_000]
            ]
        )
        if index:
            services.fingerprints_add(entries=created)
        ids += [entry.pk for entry in created]
    return ids


def single_checks(rows, count: int):
    from quality import selectors

    started = time.perf_counter()
    index_entries(rows, "bench-author")
    print(f"  index {len(rows):,} entries in the database: {time.perf_counter() - started:.1f} s")
    rng = random.Random(11)
    samples, hits = [], 0
    for _ in range(count):
        _, instruction, context, response = rows[rng.randrange(len(rows))]
        t = time.perf_counter()
        found = selectors.duplicates_similar(
            instruction=instruction, context=context, response=response + " extra"
        )
        samples.append((time.perf_counter() - t) * 1000)
        hits += bool(found)
    print(f"  single check while writing: {percentiles(samples)}; found its source {hits}/{count}")


def short_checks(rows, planted, count: int):
    """Index the short corpus's originals next to the long one and look its planted copies up
    as the writing page would: each should find its source, and nothing else."""
    from quality import selectors

    copies = {copy for _, copy, _, _ in planted}
    originals = [row for row in rows if row[0] not in copies]
    started = time.perf_counter()
    entry_of = dict(
        zip(
            (row[0] for row in originals),
            index_entries(originals, "bench-short-author"),
            strict=True,
        )
    )
    print(
        f"  index {len(originals):,} short entries as well: {time.perf_counter() - started:.1f} s"
    )
    rng = random.Random(13)
    samples, hits, others = [], 0, 0
    for source, copy, _, _ in rng.sample(planted, min(count, len(planted))):
        _, instruction, context, response = rows[copy]
        t = time.perf_counter()
        found = selectors.duplicates_similar(
            instruction=instruction, context=context, response=response
        )
        samples.append((time.perf_counter() - t) * 1000)
        hits += any(match.entry_id == entry_of[source] for match in found)
        others += sum(match.entry_id != entry_of[source] for match in found)
    print(
        f"  single check of a short copy: {percentiles(samples)}; found its source "
        f"{hits}/{len(samples)}, {others} other entries"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[15_000, 150_000])
    parser.add_argument("--checks", type=int, default=300)
    parser.add_argument("--skip-datasketch", action="store_true")
    parser.add_argument("--skip-db", action="store_true")
    args = parser.parse_args()
    print(f"threshold {THRESHOLD}; near copies have 1-3 words changed, added or dropped")
    print(
        f"short corpus: records under {dedupe.SHORT_WORDS} words from families of one shape, "
        "4% copies with one word changed, added or dropped"
    )
    for size in args.sizes:
        rows, planted = make_corpus(size)
        seconds, pairs, groups, own, worker, pss = flock_rescan(rows)
        workers = min(multiprocessing.cpu_count(), 4) if size >= 5_000 else 0
        recall, precision, wanted = score(rows, pairs, planted)
        print(
            f"{size:,} records: Flock rescan {seconds:.2f} s; peak memory {pss:,.0f} MB "
            f"(proportional set size of the job and its {workers} workers together; peak RSS "
            f"{own:,.0f} MB for the job, {worker:,.0f} MB for the largest worker); "
            f"{len(pairs):,} pairs in {groups:,} clusters; recall {recall:.4f} on {wanted:,} "
            f"planted pairs at >= {THRESHOLD}, precision {precision:.4f}"
        )
        if not args.skip_datasketch:
            ds_seconds, ds_pairs = datasketch_rescan(rows)
            ds_recall, ds_precision, _ = score(rows, ds_pairs, planted)
            print(
                f"{size:,} records: datasketch {ds_seconds:.2f} s "
                f"({ds_seconds / seconds:.1f}x Flock's time), recall {ds_recall:.4f}, "
                f"precision {ds_precision:.4f} (LSH candidates, unconfirmed)"
            )
        short_rows, short_planted, families = make_short_corpus(size)
        seconds, pairs, groups, own, worker, pss = flock_rescan(short_rows)
        recall, precision, caught, (other, same, strays) = score_short(
            short_rows, pairs, short_planted, families
        )
        print(
            f"{size:,} short records: Flock rescan {seconds:.2f} s; peak memory {pss:,.0f} MB "
            f"(peak RSS {own:,.0f} MB for the job, {worker:,.0f} MB for the largest worker); "
            f"{len(pairs):,} pairs in {groups:,} clusters; recall {recall:.4f} on "
            f"{len(short_planted):,} planted one-word edits, precision {precision:.4f}; "
            f"questions of one shape (two originals of one family) taken for copies: {other} with "
            f"different answers (must be 0), {same} with the same answer; {strays} other wrong "
            f"pairs, each with a copy"
        )
        by_edit = "; ".join(
            f"{what} in the {where} {hit / total:.3f} ({total:,})"
            for (what, where), (hit, total) in sorted(caught.items())
        )
        print(f"  recall by edit: {by_edit}")
    if not args.skip_db:
        with throwaway_database():
            print(
                f"database: {connection.vendor}, threshold setting {settings.FLOCK_DUPLICATE_THRESHOLD}"
            )
            single_checks(rows, args.checks)
            short_checks(short_rows, short_planted, args.checks)


if __name__ == "__main__":
    main()
