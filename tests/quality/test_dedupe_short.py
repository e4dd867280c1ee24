"""Short records (instruction + response under dedupe.SHORT_WORDS words): a copy one word apart
(changed, added or dropped) is a near duplicate, while questions of one shape ("What is the
capital of Peru?" / "... of Chile?") never are each other's copies."""

import random

import numpy as np
import pytest

from quality import dedupe, selectors, services
from tests.factories import submitted

THRESHOLD = 0.8
ANSWER = (
    "The Hubble Space Telescope was launched into low Earth orbit in 1990 and remains in "
    "operation; its main mirror was at first ground incorrectly and later corrected."
)


def corpus(*rows):
    return dedupe.corpus_of([(i, *row) for i, row in enumerate(rows)])


def pairs(*rows):
    return sorted((a, b) for a, b, _ in dedupe.duplicate_pairs(corpus(*rows), THRESHOLD))


def alike(a, b, threshold=THRESHOLD):
    """similarity_between both ways, each record in a corpus of its own (as the single check
    compares a query with the indexed candidates)."""
    one, two = corpus(a), corpus(b)
    forth = dedupe.similarity_between(one, 0, two, 0, threshold)
    back = dedupe.similarity_between(two, 0, one, 0, threshold)
    assert forth == back
    return forth


CAPITAL = ("What is the capital of Peru?", "", "Lima.")
WROTE = ("Who wrote the play Hamlet?", "", "William Shakespeare.")
FISH = ("Which of these are fish: salmon, cow, trout, dog?", "", "Salmon and trout.")
BRAINSTORM = ("Give me three names for a black cat.", "", "Shadow, Midnight and Salem.")

ONE_WORD_EDITS = [
    # a word changed: a slip of the keys, a/the-like words, a word of the answer
    (CAPITAL, ("What is the captial of Peru?", "", "Lima.")),
    (CAPITAL, ("What is the capital of Preu?", "", "Lima.")),
    (CAPITAL, ("Which is the capital of Peru?", "", "Lima.")),
    (CAPITAL, ("What's the capital of Peru?", "", "Lima.")),
    (CAPITAL, ("What is the capital of Peru?", "", "Cusco.")),
    (WROTE, ("Who wrote the play Hamlet?", "", "William Shakespear.")),
    (FISH, ("Which of these are fish: salmon, cow, trout, dog?", "", "Salmon and cod.")),
    (BRAINSTORM, ("Give me three names for a black cat.", "", "Shadow, Midnight and Luna.")),
    (BRAINSTORM, ("Give me three names for a blakc cat.", "", "Shadow, Midnight and Salem.")),
    # a word added
    (CAPITAL, ("What is the capital city of Peru?", "", "Lima.")),
    (WROTE, ("Who wrote the play Hamlet?", "", "William Shakespeare did.")),
    (FISH, ("Which of these are fish: salmon, cow, trout, dog?", "", "Salmon and brown trout.")),
    # a word dropped
    (CAPITAL, ("What is capital of Peru?", "", "Lima.")),
    (WROTE, ("Who wrote the play Hamlet?", "", "Shakespeare.")),
    (BRAINSTORM, ("Give me three names for a cat.", "", "Shadow, Midnight and Salem.")),
]


@pytest.mark.parametrize(("original", "copy"), ONE_WORD_EDITS)
def test_a_one_word_edit_of_a_short_record_is_a_near_duplicate(original, copy):
    similarity = alike(original, copy)
    words = max(len(dedupe.corpus_of([(0, *r)]).short[0].split()) for r in (original, copy))
    assert similarity == pytest.approx(1 - 1 / words)
    assert pairs(original, copy) == [(0, 1)]


def test_shingles_alone_miss_a_one_word_edit_of_a_short_record():
    original, copy = CAPITAL, ("What is the captial of Peru?", "", "Lima.")
    shingles = dedupe.jaccard(corpus(original).task.row(0), corpus(copy).task.row(0))
    assert shingles == pytest.approx(2 / 8)
    assert alike(original, copy) == pytest.approx(1 - 1 / 7)


def test_one_word_edits_are_found_among_many_short_records():
    rng = random.Random(3)
    vocabulary = ["".join(rng.choices("bcdfghklmnprstvz", k=3)) + "ea" for _ in range(3_000)]
    rows = [
        (
            " ".join(rng.choices(vocabulary, k=rng.randint(4, 12))) + "?",
            "",
            " ".join(rng.choices(vocabulary, k=rng.randint(1, 10))) + ".",
        )
        for _ in range(2_000)
    ]
    planted = []
    for source in range(0, 400, 4):
        instruction, context, response = rows[source]
        question, answer = instruction.split(), response.split()
        edit = source % 16
        if edit == 0:  # a word of the answer changed
            answer[0] = "changed"
        elif edit == 4:  # a word added to the question
            question.insert(2, "added")
        elif edit == 8:  # one dropped
            del question[1]
        else:  # a slip of the keys in the question: two letters swapped
            word = question[1]
            question[1] = word[0] + word[2] + word[1] + word[3:]
        planted.append((source, len(rows)))
        rows.append((" ".join(question), context, " ".join(answer)))
    assert pairs(*rows) == planted


@pytest.mark.parametrize(
    "family",
    [
        # one shape, different answers: two words apart
        [
            ("What is the capital of Peru?", "", "Lima."),
            ("What is the capital of Chile?", "", "Santiago."),
            ("What is the capital of Bolivia?", "", "Sucre."),
            ("What is the capital of Ecuador?", "", "Quito."),
        ],
        [
            ("Which of these are fish: salmon, cow, trout?", "", "Salmon and trout."),
            ("Which of these are fish: salmon, cow, cod?", "", "Salmon and cod."),
            ("Which of these are fish: tuna, cow, trout?", "", "Tuna and trout."),
            ("Which of these are fish: salmon, dog, carp, horse?", "", "Salmon and carp."),
        ],
        # one shape, the same terse answer: one word of the question apart
        [
            ("Is Peru in South America?", "", "Yes."),
            ("Is Chile in South America?", "", "Yes."),
            ("Is Gambia in South America?", "", "No."),
            ("Is Zambia in South America?", "", "No."),
            ("Is Iran in South America?", "", "No, it is not."),
            ("Is Iraq in South America?", "", "No, it is not."),
        ],
        [
            ("Which of these are fish: salmon, cow, trout?", "", "Salmon and trout."),
            ("Which of these are fish: salmon, dog, trout?", "", "Salmon and trout."),
            ("Which of these are fish: salmon, horse, trout?", "", "Salmon and trout."),
        ],
        [
            ("Is a mouse a mammal or a bird?", "", "A mammal."),
            ("Is a moose a mammal or a bird?", "", "A mammal."),
            ("Is a horse a mammal or a bird?", "", "A mammal."),
            ("Is a house a mammal or a bird?", "", "Neither."),
        ],
        # numbers are never slips of the keys
        [
            ("Is 17 a prime number?", "", "Yes."),
            ("Is 71 a prime number?", "", "Yes."),
            ("Is 19 a prime number?", "", "Yes."),
        ],
    ],
)
def test_questions_of_one_shape_are_never_each_others_copies(family):
    assert pairs(*family) == []
    for a in family:
        for b in family:
            if a != b:
                assert alike(a, b) is None
                assert alike(a, b, threshold=0.1) is None or a[2] != b[2]


def test_same_answer_siblings_stay_apart_even_when_their_shingles_are_alike():
    # The one different word is the first: 9 of 10 shingles shared, Jaccard 0.82.
    peru = ("Peru: is it a country in South America, and is it larger than Spain?", "", "Yes.")
    chile = ("Chile: is it a country in South America, and is it larger than Spain?", "", "Yes.")
    assert dedupe.jaccard(corpus(peru).task.row(0), corpus(chile).task.row(0)) >= THRESHOLD
    assert alike(peru, chile) is None
    assert pairs(peru, chile) == []
    # The same two with a long answer are one task re-typed, as the shingles say.
    answer = "Yes: it lies on the Pacific coast of the continent and is larger than Spain."
    assert alike((peru[0], "", answer), (chile[0], "", answer)) is not None


def test_an_entry_one_word_from_two_siblings_is_a_copy_of_neither():
    peru = ("Is Peru located in Asia?", "", "No.")
    chile = ("Is Chile located in Asia?", "", "No.")
    hub = ("Is located in Asia?", "", "No.")
    both = corpus(peru, chile, hub)
    assert dedupe.template_siblings(both, 0, both, 1)
    assert both.similarity(0, 2, THRESHOLD) is not None  # pair by pair, it is one word away
    assert both.similarity(1, 2, THRESHOLD) is not None
    assert pairs(peru, chile, hub) == []  # but it would chain the family into one cluster
    assert pairs(peru, hub) == [(0, 1)]  # alone with one of them, it is its copy


def test_a_short_pair_follows_the_passage_rule():
    question = ("Summarise the passage in one line.", "", "Hubble was launched in 1990.")
    with_passage = ("Summarise the passage in one line.", ANSWER, "Hubble was launched in 1990.")
    retyped = ("Summarise the passage in one line.", ANSWER, "Hubble was launched in 1991.")
    other = ("Summarise the passage in one line.", "Paris is the capital of France.", retyped[2])
    assert alike(with_passage, retyped) is not None
    assert alike(question, retyped) is None
    assert alike(with_passage, other) is None


def test_the_threshold_applies_to_short_pairs_too():
    original, copy = CAPITAL, ("What is the capital city of Peru?", "", "Lima.")
    assert alike(original, copy) == pytest.approx(1 - 1 / 8)
    assert alike(original, copy, threshold=0.9) is None
    # Under five words one word is too much of the record at 0.8.
    assert alike(("Name a fish.", "", "Cod."), ("Name a fish.", "", "Carp.")) is None


def test_keys_keep_one_width_and_long_records_keep_their_band_keys():
    both = corpus(("When was Hubble launched?", "", ANSWER), CAPITAL)
    assert both.keys.dtype == np.int64
    assert both.keys.shape == (2, dedupe.KEY_WIDTH)
    # A long record's keys are its band keys, unchanged (the stored index stays valid).
    assert set(both.keys[0].tolist()) == set(dedupe.band_keys(both.signatures)[0].tolist())
    assert both.keys[0, :3].tolist() == [
        -7192856754675849306,
        -9160078979819508124,
        2271096111296820518,
    ]
    # A short one adds the key of its 7 words and of each 6 of them.
    short_keys = set(both.keys[1].tolist()) - set(both.keys[1, : dedupe.BANDS].tolist())
    assert len(short_keys) == 8
    copy = corpus(("What is the capital of Preu?", "", "Lima."))
    assert short_keys & set(copy.keys[0].tolist())
    assert not short_keys & set(
        corpus(("What is the capital of Chile?", "", "Santiago.")).keys[0].tolist()
    )


def test_repeated_keys_count_once_in_a_bucket():
    # 150 rows sharing a key, each holding it 30 times over: one bucket of 150 rows.
    keys = np.zeros((150, dedupe.KEY_WIDTH), dtype=np.int64)
    keys[:, : dedupe.BANDS] = np.arange(150 * dedupe.BANDS).reshape(150, -1) + 1_000
    keys[:, dedupe.BANDS :] = -1
    assert len(dedupe.candidate_rows(keys)) == 150 * 149 // 2
    keys[:, dedupe.BANDS :] = -1 - np.arange(150)[:, None] // 3  # 50 buckets of 3 rows
    assert len(dedupe.candidate_rows(keys)) == 50 * 3


def _forks_counted(monkeypatch) -> list[int]:
    """How many processes each dedupe.Forked made from now on starts, in turn."""
    counted = []
    init = dedupe.Forked.__init__

    def counting(self, *args, **kwargs):
        init(self, *args, **kwargs)
        counted.append(len(self.children))

    monkeypatch.setattr(dedupe.Forked, "__init__", counting)
    return counted


def _pairs_by_hand(keys, max_bucket):
    holders = {}
    for row, held in enumerate(keys.tolist()):
        for key in set(held):
            holders.setdefault(key, set()).add(row)
    return sorted(
        {
            (i, j)
            for rows in holders.values()
            if 2 <= len(rows) <= max_bucket
            for i in rows
            for j in rows
            if i < j
        }
    )


def test_candidates_sorted_a_share_at_a_time_are_every_bucket_pair(monkeypatch):
    """A full rescan sorts the corpus's keys in parts (by key modulo the parts, negative keys
    too), shared out among forked processes: the pairs are those of every bucket, one sort or
    several, in one process or several."""
    rng = np.random.default_rng(7)
    # A row's keys are distinct but for the padding, as a corpus's are.
    keys = np.array([rng.choice(6_000, dedupe.KEY_WIDTH, replace=False) for _ in range(300)])
    keys -= 3_000
    keys[:, dedupe.BANDS :] = keys[:, dedupe.BANDS - 1 : dedupe.BANDS]  # a long task's padding
    keys[:, 0] = 11  # one bucket everyone shares: boilerplate, no pairs
    wanted = _pairs_by_hand(keys, 40)
    assert len(wanted) > 100
    flat = dedupe.key_rows(keys)
    for parts in (1, 3, 8):
        found = dedupe.candidate_pairs(*flat, len(keys), max_bucket=40, parts=parts)
        assert found.tolist() == [list(pair) for pair in wanted], parts
    monkeypatch.setattr(dedupe, "PARALLEL_FROM", 1)
    forks = _forks_counted(monkeypatch)
    for parts, workers in ((3, 2), (8, 3), (2, 4)):
        finding = dedupe.candidate_pairs_forked(
            *flat, len(keys), max_bucket=40, parts=parts, workers=workers
        )
        assert finding.result().tolist() == [list(pair) for pair in wanted], (parts, workers)
    assert forks == [2, 3, 2]  # one process a share of the parts, never more than the parts
    assert dedupe.candidate_rows(keys, max_bucket=40).tolist() == [list(p) for p in wanted]


def test_exact_pairs_are_every_pair_of_each_group_of_copies():
    rng = np.random.default_rng(3)
    digests = np.array([f"{n:064x}" for n in rng.integers(0, 60, 200)], dtype="S64")
    wanted = sorted(
        (i, j) for i in range(200) for j in range(i + 1, 200) if digests[i] == digests[j]
    )
    assert sorted(map(tuple, dedupe.exact_rows(digests).tolist())) == wanted
    assert dedupe.exact_rows(np.array([], dtype="S64")).shape == (0, 2)


def test_the_bulk_screen_settles_pairs_as_the_pair_by_pair_rules_do(monkeypatch):
    rng = random.Random(5)
    names = [
        f"{rng.choice('bdgklmnprst')}{rng.choice('aeiou')}{rng.choice('lnrst')}a" for _ in range(40)
    ]
    names += ["peru", "preu", "peru", "moose", "mouse", "salmon", "salmons"]
    rows = []
    for k, name in enumerate(names):
        rows.append((f"Is {name} in South America?", "", rng.choice(["Yes.", "No."])))
        rows.append((f"What is the capital of {name}?", "", f"{name[::-1]}."))
        rows.append((f"Which of these are fish: {name}, cod, dog?", "", "Cod."))
        rows.append((f"Is a {name} a {('fish', 'bird')[k % 2]} or a mammal?", "", "A mammal."))
    rows.append(("Is in South America?", "", "Yes."))
    rows.append(("When was Hubble launched?", "", ANSWER))
    found = pairs(*rows)
    assert found  # there is something to agree on
    monkeypatch.setattr(dedupe, "_screen", lambda corpus, pairs, threshold: (pairs[:0], pairs))
    assert pairs(*rows) == found


@pytest.mark.django_db
def test_the_index_finds_a_short_copy_but_not_a_sibling(alice):
    original = submitted(alice, instruction="Is Peru in South America?", response="Yes.")
    sibling = submitted(alice, instruction="Is Chile in South America?", response="Yes.")
    for entry in (original, sibling):
        services.fingerprint_update(entry=entry)

    def matches(instruction, response):
        found = selectors.duplicates_similar(instruction=instruction, context="", response=response)
        return [(m.entry_id, round(m.similarity, 4)) for m in found]

    assert matches("Is Peru in south America?", "Yes") == [(original.pk, 1.0)]
    assert matches("Is Peru in America?", "Yes.") == [(original.pk, round(1 - 1 / 6, 4))]
    assert matches("Is Preu in South America?", "Yes.") == [(original.pk, round(1 - 1 / 6, 4))]
    assert matches("Is Bolivia in South America?", "Yes.") == []
