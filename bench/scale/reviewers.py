"""Many reviewers at once: "Review next", a moment to read, record the review, again.

Each reviewer is a process forked from the benchmark, on its own database connection, as a sync
gunicorn worker serves one request at a time (threads in one process would queue on its
interpreter's lock and measure that). Each hand-out is logged with the monotonic clock (one clock for every process on Linux), so
that the parent can tell whether an entry was ever handed to a second reviewer while the first
surely held it: the second's whole "Review next" fell between the first's hand-out and the
start of their review.
"""

import multiprocessing
import random
import time
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection

from annotation import services


@dataclass(frozen=True)
class Hold:
    entry: int
    reviewer: int
    asked: float  # "Review next" called
    handed: float  # … and returned
    recording: float  # review_record called
    recorded: float  # … and returned
    warm: bool  # not the reviewer's first: their connection was open, their queries known


@dataclass
class Outcome:
    holds: list[Hold]
    errors: list[str]
    empty: int  # "Review next" found nothing to hand out


def _one_reviewer(pk: int, seconds: float, pace: float, results) -> None:
    deadline = time.monotonic() + seconds
    outcome = Outcome(holds=[], errors=[], empty=0)
    rng = random.Random(pk)
    warm = False
    try:
        user = get_user_model().objects.get(pk=pk)
        time.sleep(rng.uniform(0, 2 * pace))  # not all at the same instant
        while time.monotonic() < deadline:
            asked = time.monotonic()
            entry = services.review_next(reviewer=user)
            handed = time.monotonic()
            if entry is None:
                outcome.empty += 1
                time.sleep(pace)
                continue
            time.sleep(rng.uniform(0, 2 * pace))  # reading it
            verdict = rng.choice(["approve", "approve", "reject"])
            recording = time.monotonic()
            try:
                services.review_record(
                    entry=entry,
                    reviewer=user,
                    verdict=verdict,
                    rating=rng.randint(3, 5) if verdict == "approve" else 2,
                    reasons=["other"] if verdict == "reject" else [],
                )
            except Exception as error:  # counted and printed; the run goes on
                outcome.errors.append(f"{type(error).__name__}: {error}")
                continue
            recorded = time.monotonic()
            outcome.holds.append(Hold(entry.pk, pk, asked, handed, recording, recorded, warm))
            warm = True
            time.sleep(rng.uniform(0, 2 * pace))  # before asking for the next
    finally:
        connection.close()
        results.put(outcome)


def run(reviewers: list[int], *, seconds: float, pace: float) -> Outcome:
    """Every reviewer works for `seconds`, waiting up to 2 × `pace` (uniformly) to read an
    entry and again before asking for the next; returns every hand-out and error."""
    connection.close()  # no connection crosses the fork
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    children = [
        context.Process(target=_one_reviewer, args=(pk, seconds, pace, results)) for pk in reviewers
    ]
    for child in children:
        child.start()
    parts = [results.get() for _ in children]
    for child in children:
        child.join()
    return Outcome(
        holds=[hold for part in parts for hold in part.holds],
        errors=[error for part in parts for error in part.errors],
        empty=sum(part.empty for part in parts),
    )


def double_hand_outs(holds: list[Hold]) -> list[tuple[Hold, Hold]]:
    """Pairs of hand-outs of one entry to two reviewers where the second's whole "Review next"
    came after the first was handed the entry and before they started recording their review:
    the entry was surely leased to both at once."""
    by_entry: dict[int, list[Hold]] = {}
    for hold in holds:
        by_entry.setdefault(hold.entry, []).append(hold)
    doubles = []
    for entry_holds in by_entry.values():
        for first in entry_holds:
            for second in entry_holds:
                if (
                    second is not first
                    and first.handed <= second.asked
                    and second.handed <= first.recording
                ):
                    doubles.append((first, second))
    return doubles
