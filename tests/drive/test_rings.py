"""Review rings: a planted group that approves each other's entries is found, with its figures; a
pair who review each other like everyone else is not, nor a pair with too few reviews."""

import math

import pytest

from drive.figures import figures_compute
from drive.rings import binomial_tail
from tests.drive.conftest import T0, entry, review
from tests.drive.conftest import person as make_person

pytestmark = pytest.mark.django_db


def mutual(reviewers, authors, *, entries: int, approvals: int):
    """Each reviewer reviews `entries` entries of each other author, approving the first
    `approvals` of them."""
    for author in authors:
        written = [entry(author, submitted_at=T0) for _ in range(entries)]
        for reviewer in reviewers:
            if reviewer == author:
                continue
            for n, reviewed in enumerate(written):
                verdict = "approve" if n < approvals else "reject"
                review(reviewed, reviewer, at=T0, verdict=verdict)


@pytest.fixture
def drive(at_t0):
    """alice, bob and hank approve all 6 of each other's entries; dave and erin approve half of
    each other's 6; kim and lee approve all 4 of each other's (too few to judge); frank and ivan
    reject 40 of gina's each (the drive is strict: 50 approvals in 136 reviews)."""
    ring = [make_person(name) for name in ("alice", "bob", "hank")]
    mutual(ring, ring, entries=6, approvals=6)
    normal = [make_person("dave"), make_person("erin")]
    mutual(normal, normal, entries=6, approvals=3)
    few = [make_person("kim"), make_person("lee")]
    mutual(few, few, entries=4, approvals=4)
    gina = make_person("gina")
    mutual([make_person("frank"), make_person("ivan")], [gina], entries=40, approvals=0)
    return {"ring": ring, "normal": normal}


def test_a_planted_ring_is_found_with_its_figures(drive):
    rings = figures_compute(now=T0).frames["rings"]
    assert len(rings) == 3  # alice–bob, alice–hank, bob–hank
    assert set(rings["ring"]) == {1}  # one group of three
    members = set(rings["member_a"]) | set(rings["member_b"])
    assert members == {"alice", "bob", "hank"}
    pair = rings.iloc[0]
    assert (pair["reviews_a_to_b"], pair["approvals_a_to_b"]) == (6, 6)
    assert (pair["reviews_b_to_a"], pair["approvals_b_to_a"]) == (6, 6)
    assert pair["approval_rate"] == 1.0
    drive_rate = (36 + 6 + 4 * 2) / (36 + 12 + 8 + 80)
    assert pair["drive_rate"] == pytest.approx(drive_rate)
    assert pair["p_value"] == pytest.approx(drive_rate**12)


def test_a_normal_pair_and_a_pair_with_too_few_reviews_are_not_rings(drive):
    """kim and lee's 8 approvals in 8 would be far above the drive's rate (p = 0.00034), but 4
    reviews each way are fewer than FLOCK_RING_MIN_REVIEWS (5)."""
    rings = figures_compute(now=T0).frames["rings"]
    named = set(rings["member_a"]) | set(rings["member_b"])
    assert not named & {"dave", "erin", "kim", "lee", "frank", "ivan", "gina"}


def test_the_minimum_reviews_each_way_is_a_setting(drive, settings):
    settings.FLOCK_RING_MIN_REVIEWS = 4
    rings = figures_compute(now=T0).frames["rings"]
    assert {"kim", "lee"} <= set(rings["member_a"]) | set(rings["member_b"])
    assert rings["ring"].nunique() == 2


def test_the_binomial_tail_is_exact():
    assert binomial_tail(12, 12, 0.5) == pytest.approx(0.5**12)
    assert binomial_tail(0, 10, 0.3) == 1.0
    expected = sum(math.comb(20, k) * 0.4**k * 0.6 ** (20 - k) for k in range(15, 21))
    assert binomial_tail(15, 20, 0.4) == pytest.approx(expected, rel=1e-12)
    assert binomial_tail(5, 5, 1.0) == 1.0 and binomial_tail(1, 5, 0.0) == 0.0
