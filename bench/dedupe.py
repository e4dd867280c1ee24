"""Benchmark duplicate detection on a synthetic corpus with planted exact and near duplicates.

For each size (default 15,000 and 150,000 records of Dolly-like length) it prints the time and
peak memory of Flock's full rescan (all cores), its recall and precision on the planted pairs,
and the same corpus through datasketch's MinHash + MinHashLSH in the same run, for the ratio.
Then it fills a throwaway database (SQLite, or PostgreSQL with DATABASE_URL) with the largest
corpus's index and times single-entry checks against it, as the writing page makes them.

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


def single_checks(rows, count: int):
    from django.contrib.auth import get_user_model

    from annotation.models import Category, Entry, EntryStatus
    from quality import selectors, services

    author = get_user_model().objects.create(username="bench-author")
    category = Category.objects.get(slug="open_qa")
    started = time.perf_counter()
    now = timezone.now()
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
        services.fingerprints_add(entries=created)
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[15_000, 150_000])
    parser.add_argument("--checks", type=int, default=300)
    parser.add_argument("--skip-datasketch", action="store_true")
    parser.add_argument("--skip-db", action="store_true")
    args = parser.parse_args()
    print(f"threshold {THRESHOLD}; near copies have 1-3 words changed, added or dropped")
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
    if not args.skip_db:
        with throwaway_database():
            print(
                f"database: {connection.vendor}, threshold setting {settings.FLOCK_DUPLICATE_THRESHOLD}"
            )
            single_checks(rows, args.checks)


if __name__ == "__main__":
    main()
