"""Review rings: people who approve each other's entries far more often than the drive does.

For each unordered pair of people who reviewed each other, with at least FLOCK_RING_MIN_REVIEWS
reviews in each direction, the pair's approvals (both directions together) are tested against
the drive's approval rate p: under "this pair reviews like everyone else", the approvals X of
their n reviews follow Binomial(n, p), and the pair is flagged when P(X >= approvals) is below
RING_P_VALUE (one in a thousand). Pairs that share people form a ring (a connected component):
two people, or a small group who all vouch for each other.

Only numpy, pandas and math: the tail is summed exactly in log space.
"""

import math
from collections.abc import Callable

import pandas as pd

RING_P_VALUE = 0.001

COLUMNS = [
    "ring",
    "member_a_id",
    "member_a",
    "member_b_id",
    "member_b",
    "reviews_a_to_b",
    "approvals_a_to_b",
    "reviews_b_to_a",
    "approvals_b_to_a",
    "approval_rate",
    "drive_rate",
    "p_value",
]


def binomial_tail(successes: int, trials: int, rate: float) -> float:
    """P(X >= successes) for X ~ Binomial(trials, rate)."""
    if successes <= 0:
        return 1.0
    if rate <= 0:
        return 0.0
    if rate >= 1:
        return 1.0
    log_p, log_q = math.log(rate), math.log1p(-rate)
    terms = [
        math.lgamma(trials + 1)
        - math.lgamma(k + 1)
        - math.lgamma(trials - k + 1)
        + k * log_p
        + (trials - k) * log_q
        for k in range(successes, trials + 1)
    ]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(term - top) for term in terms))


def review_rings(
    directions: pd.DataFrame,
    *,
    drive_rate: float | None,
    names: Callable[[set[int]], dict[int, str]],
) -> pd.DataFrame:
    """The flagged pairs, grouped into rings, most suspicious first.

    `directions` has a row per (reviewer_id, author_id) with `reviews` and `approvals`, already
    limited to directions with enough reviews; `names` names people for moderators.
    """
    pairs = _mutual_pairs(directions)
    if pairs.empty or drive_rate is None:
        return pd.DataFrame(columns=COLUMNS)
    pairs["approval_rate"] = (pairs["approvals_a_to_b"] + pairs["approvals_b_to_a"]) / (
        pairs["reviews_a_to_b"] + pairs["reviews_b_to_a"]
    )
    pairs["drive_rate"] = drive_rate
    pairs["p_value"] = [
        binomial_tail(int(ab + ba), int(rab + rba), drive_rate)
        for ab, ba, rab, rba in zip(
            pairs["approvals_a_to_b"],
            pairs["approvals_b_to_a"],
            pairs["reviews_a_to_b"],
            pairs["reviews_b_to_a"],
            strict=True,
        )
    ]
    flagged = pairs[(pairs["p_value"] < RING_P_VALUE) & (pairs["approval_rate"] > drive_rate)]
    if flagged.empty:
        return pd.DataFrame(columns=COLUMNS)
    flagged = flagged.sort_values(["p_value", "a", "b"], ignore_index=True)
    flagged["ring"] = _components(list(zip(flagged["a"], flagged["b"], strict=True)))
    named = names(set(flagged["a"]) | set(flagged["b"]))
    flagged["member_a"] = flagged["a"].map(lambda pk: named.get(pk, f"#{pk}"))
    flagged["member_b"] = flagged["b"].map(lambda pk: named.get(pk, f"#{pk}"))
    flagged = flagged.rename(columns={"a": "member_a_id", "b": "member_b_id"})
    return flagged.sort_values(["ring", "p_value"], ignore_index=True)[COLUMNS]


def _mutual_pairs(directions: pd.DataFrame) -> pd.DataFrame:
    """One row per unordered pair {a < b} with both directions present."""
    forward = directions[directions["reviewer_id"] < directions["author_id"]].rename(
        columns={
            "reviewer_id": "a",
            "author_id": "b",
            "reviews": "reviews_a_to_b",
            "approvals": "approvals_a_to_b",
        }
    )
    backward = directions[directions["reviewer_id"] > directions["author_id"]].rename(
        columns={
            "author_id": "a",
            "reviewer_id": "b",
            "reviews": "reviews_b_to_a",
            "approvals": "approvals_b_to_a",
        }
    )
    return forward.merge(backward, on=["a", "b"], how="inner")


def _components(edges: list[tuple[int, int]]) -> list[int]:
    """Each edge's ring number: connected components of the flagged pairs, numbered from 1 in
    the order their most suspicious pair comes (edges arrive most suspicious first)."""
    parent: dict[int, int] = {}

    def root(node: int) -> int:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in edges:
        parent[root(a)] = root(b)
    numbers: dict[int, int] = {}
    return [numbers.setdefault(root(a), len(numbers) + 1) for a, _ in edges]
