"""Flock at a million entries (issue 16): `python -m bench.scale`.

Seeds a throwaway PostgreSQL database by COPY with ENTRIES Dolly-length entries by a drive's
worth of writers (most accepted over a year, with their decisions, reviews, the weekly contests,
the points ledger and the duplicate index; the newest under review), then measures, each as the
product does it:

- the category page's counts (`annotation.selectors.category_list_with_progress`);
- the similarity check while writing (`quality.selectors.duplicates_similar_for`);
- the leaderboard page's board (`leaderboard.selectors.board_all_time`: top 50, the viewer's
  rank, names and counts) with the board in Redis;
- "Review next" and recording a review by 64 reviewers at once, in forked processes, and
  whether any entry was handed to two of them at once (`bench/scale/reviewers.py`);
- the first snapshot job, whose quality rescans are full (nothing ran before): the duplicate and
  licensing rescans' time and the peak memory of the job with its forked workers; then a job
  after 1% of the entries changed (bench.export's measured child process);

and prints them in one table against issue 16's targets, saying by how much a missed one is
missed. Redis is used in a database of its own (FLOCK_SCALE_REDIS_DB, default 12), emptied
first and last.

    DATABASE_URL=postgres://… REDIS_URL=redis://… .venv/bin/python -m bench.scale \\
        [--entries 1000000] [--reviewers 64] [--review-seconds 20] [--review-pace 2.5 0.5]
        [--skip-job] [--keep]

Seeding a million takes about 15 minutes on 2 cores; `--keep` leaves the database for the next
run, which reuses it (as the last run left it: its review queue a little shorter, 1% of its
texts revised; the first job's rescans are made full again).
"""
