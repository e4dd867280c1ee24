"""Benchmark the contamination check: every entry against the reference corpora.

Fills a throwaway database (SQLite, or PostgreSQL with DATABASE_URL) with N accepted entries of
Dolly-like length (bench.dedupe.make_corpus), imports a reference corpus of Q questions of which
some are entries' instructions planted as they are, in another case, or one word added, and
times: the import's indexing, the full reference rescan (every entry, on every core; what
importing or deleting a corpus costs the next night), the rescan with no corpus at all (most
installations), and single checks while writing. Prints recall on the planted questions.

    .venv/bin/python -m bench.references [--entries 150000] [--questions 10000]
"""

import argparse
import random
import time

from bench.common import percentiles, throwaway_database  # sets Django up: import it first

# isort: split
from django.db import connection

from bench.dedupe import index_entries, make_corpus


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=150_000)
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--planted", type=int, default=300)
    parser.add_argument("--checks", type=int, default=300)
    args = parser.parse_args()
    rows, _ = make_corpus(args.entries)
    others, _ = make_corpus(args.questions, seed=99)
    rng = random.Random(5)
    with throwaway_database():
        from annotation.models import Flag, FlagKind
        from quality import selectors, services

        print(f"database: {connection.vendor}")
        started = time.perf_counter()
        ids = index_entries(rows, "bench-author", index=False)
        print(f"  {len(ids):,} accepted entries stored: {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        report = services.references_rescan()
        print(
            f"  rescan with no reference corpus ({report.entries:,} entries looked at, full "
            f"{report.full}): {time.perf_counter() - started:.2f} s"
        )

        planted = rng.sample(range(len(rows)), args.planted)
        questions = []
        for k, row in enumerate(planted):
            instruction = rows[row][1]
            if k % 3 == 1:
                instruction = instruction.upper()
            elif k % 3 == 2:
                words = instruction.split()
                words.insert(len(words) // 2, "indeed")
                instruction = " ".join(words)
            questions.append(instruction)
        questions += [instruction for _, instruction, _, _ in others]
        questions = questions[: max(args.questions, args.planted)]
        rng.shuffle(questions)
        corpus = services.reference_corpus_ensure(name="Bench eval")
        started = time.perf_counter()
        for first in range(0, len(questions), 1_000):
            batch = questions[first : first + 1_000]
            services.reference_items_add(corpus=corpus, questions=batch)
        print(
            f"  {len(questions):,} reference questions indexed: "
            f"{time.perf_counter() - started:.2f} s"
        )

        started = time.perf_counter()
        report = services.references_rescan()
        seconds = time.perf_counter() - started
        flagged = set(
            Flag.objects.filter(kind=FlagKind.REFERENCE_MATCH).values_list("entry_id", flat=True)
        )
        caught = sum(ids[row] in flagged for row in planted)
        print(
            f"  full reference rescan of {report.entries:,} entries against "
            f"{report.questions:,} questions: {seconds:.2f} s; {report.flagged:,} flagged; "
            f"planted caught {caught}/{len(planted)}; other entries flagged "
            f"{len(flagged - {ids[row] for row in planted}):,}"
        )
        started = time.perf_counter()
        again = services.references_rescan()
        print(
            f"  the next night's rescan ({again.entries:,} changed): "
            f"{time.perf_counter() - started:.2f} s"
        )

        samples = []
        for _ in range(args.checks):
            instruction = rows[rng.randrange(len(rows))][1] + " please"
            t = time.perf_counter()
            selectors.references_matching(instructions=[(0, instruction)])
            samples.append((time.perf_counter() - t) * 1000)
        print(f"  single check while writing: {percentiles(samples)}")


if __name__ == "__main__":
    main()
