import json
import random

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from annotation import services as annotation
from annotation.models import Entry, EntryStatus, Flag, Source
from exports.selectors import exportable_entries
from quality import dedupe, selectors, services
from quality.models import Fingerprint
from tests.factories import EntryFactory, bucket_keys, category, stored_keys, submitted

pytestmark = pytest.mark.django_db

ANSWER = (
    "The Hubble Space Telescope was launched into low Earth orbit in 1990 and remains in "
    "operation; its main mirror was at first ground incorrectly and later corrected."
)


def test_normalising_ignores_width_case_and_spacing():
    assert dedupe.normalize("  ＨＥＬＬＯ\tWorld \n again ") == "hello world again"
    assert dedupe.exact_hash("Q?", "", "An  Answer") == dedupe.exact_hash("q?", "", "an answer")
    assert dedupe.exact_hash("Q?", "", "An answer") != dedupe.exact_hash("Q?", "x", "An answer")


def corpus(*rows):
    return dedupe.corpus_of([(i, *row) for i, row in enumerate(rows)])


@pytest.mark.parametrize(
    ("a", "b", "duplicates"),
    [
        # the same question and answer, slightly re-worded
        (
            ("When was Hubble launched?", "", ANSWER),
            ("When was Hubble launched?", "", ANSWER.replace("later corrected", "corrected later")),
            True,
        ),
        # identical but for case and spacing
        (
            ("When was Hubble launched?", "", ANSWER),
            ("when was hubble   launched?", "", ANSWER.upper()),
            True,
        ),
        # different questions about one passage are different tasks
        (
            ("When was Hubble launched?", ANSWER, "In 1990."),
            ("What was wrong with Hubble's mirror?", ANSWER, "It was ground incorrectly."),
            False,
        ),
        # one with a passage, one without: not the same task
        (
            ("Summarise the passage.", ANSWER, "Hubble launched in 1990."),
            ("Summarise the passage.", "", "Hubble launched in 1990."),
            False,
        ),
        # the same question over two different passages
        (
            ("Summarise this.", ANSWER, "A summary of it all."),
            (
                "Summarise this.",
                "Paris is the capital of France and its largest city by far.",
                "A summary of it all.",
            ),
            False,
        ),
        # unrelated
        (
            ("Name three primary colours.", "", "Red, yellow and blue."),
            ("When was Hubble launched?", "", ANSWER),
            False,
        ),
    ],
)
def test_near_duplicates_on_known_pairs_and_non_pairs(a, b, duplicates):
    pair = corpus(a, b)
    assert (pair.similarity(0, 1, 0.8) is not None) == duplicates
    assert (dedupe.duplicate_pairs(pair, 0.8) != []) == duplicates


def test_lsh_finds_planted_duplicates_among_many():
    rows = [
        (
            f"Question number {i} about topic {i * 7}?",
            "",
            f"Answer {i}: " + " ".join(f"word{(i * 31 + k) % 997}" for k in range(60)),
        )
        for i in range(400)
    ]
    rows.append((rows[17][0], "", rows[17][2].replace("word", "term", 1)))
    pairs = dedupe.duplicate_pairs(corpus(*rows), 0.8)
    assert [(a, b) for a, b, _ in pairs] == [(17, 400)]


def index(entry):
    services.fingerprint_update(entry=entry)
    return entry


def test_the_index_finds_exact_and_near_duplicates_of_a_text(alice):
    original = index(submitted(alice, instruction="When was Hubble launched?", response=ANSWER))
    exact = selectors.duplicates_similar(
        instruction="when was HUBBLE launched?", context="", response=ANSWER
    )
    assert [(m.entry_id, m.similarity, m.exact) for m in exact] == [(original.pk, 1.0, True)]
    near = selectors.duplicates_similar(
        instruction="When was Hubble launched?",
        context="",
        response=ANSWER.replace("1990", "the year 1990"),
    )
    assert near[0].entry_id == original.pk and 0.8 <= near[0].similarity < 1.0 and not near[0].exact
    assert (
        selectors.duplicates_similar(instruction="Name three colours.", context="", response="Red.")
        == []
    )
    assert (
        selectors.duplicates_similar(
            instruction="When was Hubble launched?",
            context="",
            response=ANSWER,
            exclude=original.pk,
        )
        == []
    )


def test_the_index_follows_edits_and_withdrawals(alice, bob, carol):
    annotation.agreement_accept(user=alice)
    entry = annotation.entry_create(
        author=alice,
        category=category("open_qa"),
        values={"instruction": "When was Hubble launched?", "response": ANSWER},
    )
    annotation.entry_submit(entry=entry, actor=alice)
    services.entry_check(entry=entry)
    assert selectors.duplicates_similar(
        instruction="When was Hubble launched?", context="", response=ANSWER
    )

    # Rejected, the author rewrites the answer and submits again: the index holds the new text.
    new_answer = "It went up in April 1990 aboard the Space Shuttle Discovery, mission STS-31."
    for reviewer in (bob, carol):
        annotation.review_record(
            entry=entry, reviewer=reviewer, verdict="reject", rating=2, reasons=["factual_error"]
        )
    annotation.entry_reopen(entry=entry, actor=alice)
    annotation.entry_update(entry=entry, actor=alice, values={"response": new_answer})
    annotation.entry_submit(entry=entry, actor=alice)
    entry.refresh_from_db()
    services.fingerprint_update(entry=entry)  # what the on-commit hook does
    assert (
        selectors.duplicates_similar(
            instruction="When was Hubble launched?", context="", response=ANSWER
        )
        == []
    )
    assert selectors.duplicates_similar(
        instruction="When was Hubble launched?", context="", response=new_answer
    )

    other = index(
        submitted(alice, instruction="Name the planets.", response="Mercury, Venus, Earth, Mars.")
    )
    annotation.entry_withdraw(entry=other, actor=alice)
    assert (
        selectors.duplicates_similar(
            instruction="Name the planets.", context="", response="Mercury, Venus, Earth, Mars."
        )
        == []
    )


def test_submitting_a_duplicate_flags_it_and_links_the_earlier_entry(alice, bob):
    original = submitted(alice, instruction="When was Hubble launched?", response=ANSWER)
    services.entry_check(entry=original)
    copy = submitted(bob, instruction="When was Hubble launched?", response=ANSWER)
    reworded = submitted(
        bob,
        instruction="When was Hubble launched?",
        response=ANSWER.replace("later corrected.", "later fixed."),
    )
    services.entry_check(entry=copy)
    services.entry_check(entry=reworded)
    exact = Flag.objects.get(entry=copy, kind="exact_duplicate")
    assert (exact.duplicate_of, exact.similarity, exact.blocking) == (original, 1.0, True)
    near = Flag.objects.get(entry=reworded, kind__in=["near_duplicate", "exact_duplicate"])
    assert near.kind == "near_duplicate" and near.duplicate_of == original and near.blocking
    assert 0.8 <= near.similarity < 1
    assert f"entry #{original.pk}" in near.evidence
    assert not Flag.objects.filter(entry=original, kind__endswith="duplicate").exists()
    assert services.entry_check(entry=copy) == []  # idempotent


def test_the_rescan_keeps_the_earliest_accepted_copy(alice, bob):
    first = submitted(alice, instruction="When was Hubble launched?", response=ANSWER)
    accepted = EntryFactory(
        author=bob,
        status=EntryStatus.ACCEPTED,
        instruction="When was Hubble launched?",
        response=ANSWER,
    )
    third = submitted(bob, instruction="When was Hubble launched?", response=ANSWER + " Truly.")
    EntryFactory(author=alice, instruction="When was Hubble launched?", response=ANSWER)  # a draft
    lone = submitted(alice)
    report = services.duplicates_rescan(workers=1)
    assert (report.entries, report.clusters, report.flagged) == (4, 1, 2)
    flags = {f.entry_id: f.duplicate_of_id for f in Flag.objects.all()}
    assert flags == {first.pk: accepted.pk, third.pk: accepted.pk}
    assert Fingerprint.objects.filter(entry=lone).exists()
    assert services.duplicates_rescan(workers=1).flagged == 0


def write_jsonl(tmp_path, lines):
    path = tmp_path / "dolly.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def dolly(instruction, response, category="open_qa", context=""):
    return json.dumps(
        {"instruction": instruction, "context": context, "response": response, "category": category}
    )


def test_import_dolly_reports_bad_lines_and_adds_nothing_the_second_time(tmp_path, capsys):
    path = write_jsonl(
        tmp_path,
        [
            dolly("When was Hubble launched?", ANSWER),
            "{not json",
            dolly("Sort these.", "A: x", category="poetry"),
            dolly("", "No instruction."),
            json.dumps(["a", "list"]),
            dolly("Summarise.", "Short.", category="summarization", context="A passage."),
            dolly("When was Hubble launched?", ANSWER),  # the same record again
        ],
    )
    call_command("import_dolly", str(path), "--source", "dolly-15k", "--batch-size", "2")
    out, err = capsys.readouterr()
    assert "2 imported, 1 already there, 4 skipped for errors" in out
    assert "line 2: not valid JSON" in err and "line 3: unknown category 'poetry'" in err
    assert "line 4: instruction is blank" in err and "line 5: not a JSON object" in err
    imported = Entry.objects.filter(source__name="dolly-15k")
    assert imported.count() == 2
    assert set(imported.values_list("status", flat=True)) == {"accepted"}
    assert not imported.filter(author__isnull=False).exists()
    assert Source.objects.get(name="dolly-15k").license == "cc-by-sa-3.0"

    call_command("import_dolly", str(path), "--source", "dolly-15k")
    assert "0 imported, 3 already there" in capsys.readouterr().out
    assert Entry.objects.filter(source__name="dolly-15k").count() == 2


def test_imports_need_a_licence_compatible_with_cc_by_sa(tmp_path):
    path = write_jsonl(tmp_path, [dolly("Q?", "A.")])
    for license in ["cc-by-nc-4.0", "cc-by-sa-4.0", "proprietary"]:
        with pytest.raises(CommandError, match=r"cannot be released under CC-BY-SA 3\.0"):
            call_command("import_dolly", str(path), "--license", license)
    assert not Entry.objects.exists()
    call_command("import_dolly", str(path), "--license", "CC0-1.0", "--source", "public")
    with pytest.raises(CommandError, match=r"imported under cc0-1\.0"):
        call_command("import_dolly", str(path), "--license", "cc-by-3.0", "--source", "public")


def test_an_imported_record_cannot_be_submitted_again_unnoticed(tmp_path, alice):
    call_command(
        "import_dolly", str(write_jsonl(tmp_path, [dolly("When was Hubble launched?", ANSWER)]))
    )
    imported = Entry.objects.get(source__isnull=False)
    resubmitted = submitted(alice, instruction="When was Hubble launched?", response=ANSWER)
    services.entry_check(entry=resubmitted)
    flag = Flag.objects.get(entry=resubmitted, kind="exact_duplicate")
    assert flag.duplicate_of == imported
    from annotation import selectors

    open_qa = next(c for c in selectors.category_list_with_progress() if c.slug == "open_qa")
    assert open_qa.accepted_count == 0  # imports do not count toward the drive's targets


def test_the_writing_page_warns_about_a_duplicate_as_you_type(client, alice, bob):
    original = index(submitted(alice, instruction="When was Hubble launched?", response=ANSWER))
    client.force_login(bob)
    form = {
        "entry": "",
        "category": "open_qa",
        "instruction": "When was Hubble launched?",
        "response": ANSWER,
    }
    page = client.post("/entries/similar/", form, HTTP_HX_REQUEST="true").content.decode()
    # Bob may not read alice's entry: he learns it is a duplicate, not its number (issue 12).
    assert "This looks like an entry a colleague wrote (100% similar)" in page
    assert f"#{original.pk}" not in page
    quiet = client.post("/entries/similar/", {**form, "response": "Something else entirely."})
    assert "looks like" not in quiet.content.decode()
    client.logout()
    assert client.post("/entries/similar/", form, HTTP_HX_REQUEST="true").status_code == 401


def test_each_autosave_answer_carries_the_duplicate_warning(client, alice, bob):
    """The page asks the similarity check with every autosave, not in a request of its own:
    the autosave's answer swaps the warning in (out of band), and takes it away again."""
    original = index(submitted(alice, instruction="When was Hubble launched?", response=ANSWER))
    client.force_login(bob)
    form = {"entry": "", "category": "open_qa", "instruction": "When was Hubble launched?"}

    saved = client.post("/entries/autosave/", {**form, "response": ANSWER}, HTTP_HX_REQUEST="true")
    assert saved.status_code == 200
    page = saved.content.decode()
    assert '<div id="similar" hx-swap-oob="innerHTML">' in page
    assert "This looks like an entry a colleague wrote (100% similar)" in page
    assert f"#{original.pk}" not in page and ANSWER not in page
    draft = Entry.objects.get(author=bob)
    assert draft.response == ANSWER  # saved as well

    form.update(entry=str(draft.pk), version=saved["X-Draft-Version"])
    again = client.post(
        "/entries/autosave/",
        {**form, "response": "Something else entirely."},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert '<div id="similar" hx-swap-oob="innerHTML">' in again  # emptied
    assert "looks like" not in again

    stale = client.post(  # a version another tab overtook: refused, and no warning swapped
        "/entries/autosave/", {**form, "response": ANSWER}, HTTP_HX_REQUEST="true"
    )
    assert stale.status_code == 409 and 'id="similar"' not in stale.content.decode()


def test_the_import_applies_the_submission_rules_and_reads_bytes_safely(tmp_path, capsys, settings):
    from annotation.models import Category

    Category.objects.filter(slug="brainstorming").update(is_active=False)
    settings.FLOCK_MAX_RESPONSE_CHARS = 100
    path = tmp_path / "dolly.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf"
        + dolly("When was Hubble launched?", "In 1990.").encode()
        + b"\r\n"
        + b'{"instruction": "Caf\xe9?", "response": "latin-1 bytes", "category": "open_qa"}\n'
        + dolly("Long?", "x" * 101).encode()
        + b"\n"
        + dolly("Which year?", "1990.", category="closed_qa").encode()
        + b"\n"
        + dolly("Ideas?", "- one", category="brainstorming").encode()
        + b"\n"
        + dolly("Name a colour.", "Red.").encode()
        + b"\n"
    )
    call_command("import_dolly", str(path))
    out, err = capsys.readouterr()
    assert "2 imported" in out and "4 skipped" in out
    assert "line 2: not UTF-8 text" in err
    assert "line 3: response: Keep the response to 100 characters" in err
    assert "line 4: context: Closed QA needs a reference passage" in err
    assert "line 5: unknown category 'brainstorming'" in err
    assert Entry.objects.filter(instruction="When was Hubble launched?").exists()


def test_imported_passages_need_no_source_url(tmp_path):
    call_command(
        "import_dolly",
        str(
            write_jsonl(
                tmp_path,
                [dolly("Sum up.", "Short.", category="summarization", context="A passage.")],
            )
        ),
    )
    imported = Entry.objects.get()
    assert services.entry_check(entry=imported) == []


def test_two_copies_never_end_up_both_blocked(alice, bob, carol):
    original = submitted(alice, instruction="When was Hubble launched?", response=ANSWER)
    services.entry_check(entry=original)
    copy = submitted(bob, instruction="When was Hubble launched?", response=ANSWER)
    services.entry_check(entry=copy)
    assert Flag.objects.get(entry=copy, kind="exact_duplicate").duplicate_of == original
    # The copy is accepted first: it becomes the one that is kept.
    Entry.objects.filter(pk=copy.pk).update(status=EntryStatus.ACCEPTED)
    services.duplicates_rescan(workers=1)
    open_flags = Flag.objects.filter(status="open", kind__endswith="duplicate")
    assert [(f.entry_id, f.duplicate_of_id) for f in open_flags] == [(original.pk, copy.pk)]


def test_a_copy_begun_as_a_draft_before_the_original_is_still_the_copy(alice, bob):
    from django.utils import timezone

    early_draft = EntryFactory(author=bob, instruction="When was Hubble launched?", response=ANSWER)
    original = submitted(alice, instruction="When was Hubble launched?", response=ANSWER)
    services.entry_check(entry=original)
    Entry.objects.filter(pk=early_draft.pk).update(status="submitted", submitted_at=timezone.now())
    early_draft.refresh_from_db()
    services.entry_check(entry=early_draft)
    assert early_draft.pk < original.pk
    assert Flag.objects.get(entry=early_draft, kind="exact_duplicate").duplicate_of == original
    assert not Flag.objects.filter(entry=original, kind__endswith="duplicate").exists()


def test_a_revised_entry_loses_the_flags_its_old_text_earned(alice, carol):
    annotation.agreement_accept(user=alice)
    entry = annotation.entry_create(
        author=alice,
        category=category("open_qa"),
        values={"instruction": "Who do I call?", "response": "Call me on +44 20 7946 0958."},
    )
    annotation.entry_submit(entry=entry, actor=alice)
    services.entry_check(entry=entry)
    flag = Flag.objects.get(entry=entry, kind="personal_data")
    Entry.objects.filter(pk=entry.pk).update(status="rejected")
    entry.refresh_from_db()
    annotation.entry_reopen(entry=entry, actor=alice)
    annotation.entry_update(
        entry=entry, actor=alice, values={"response": "Call the public helpline."}
    )
    annotation.entry_submit(entry=entry, actor=alice)
    entry.refresh_from_db()
    services.entry_check(entry=entry)
    flag.refresh_from_db()
    assert flag.status == "closed" and "No longer found" in flag.note


def _chain():
    """Three texts: 1 and 2 alike, 2 and 3 alike, 1 and 3 not (each step changes one word)."""
    base = [f"word{k}" for k in range(40)]
    second = [*base[:10], "changed", *base[11:]]
    third = [*second[:25], "altered", *second[26:]]
    return " ".join(base), " ".join(second), " ".join(third)


def test_a_chain_of_duplicates_is_one_cluster():
    first, second, third = _chain()
    texts = dedupe.corpus_of([(1, "Q?", "", first), (2, "Q?", "", second), (3, "Q?", "", third)])
    assert texts.similarity(0, 1, 0.8) and texts.similarity(1, 2, 0.8)
    assert texts.similarity(0, 2, 0.8) is None
    assert dedupe.clusters(dedupe.duplicate_pairs(texts, 0.8)) == [{1, 2, 3}]


def test_the_rescan_says_which_member_a_chained_entry_repeats(alice):
    first, second, third = _chain()
    one = EntryFactory(author=alice, status=EntryStatus.ACCEPTED, instruction="Q?", response=first)
    two = submitted(alice, instruction="Q?", response=second)
    three = submitted(alice, instruction="Q?", response=third)
    services.duplicates_rescan(workers=1)
    flag = Flag.objects.get(entry=three)
    assert flag.duplicate_of == one
    assert f"Looks like entry #{two.pk}" in flag.evidence and f"repeats #{one.pk}" in flag.evidence
    assert Flag.objects.get(entry=two).evidence.startswith(f"Looks like entry #{one.pk}")


def test_punctuation_does_not_hide_a_duplicate():
    pair = corpus(
        ("Who wrote Hamlet?", "", "William Shakespeare wrote Hamlet, around 1600, in London."),
        ("Who wrote Hamlet", "", "William Shakespeare wrote Hamlet around 1600 in London"),
    )
    assert pair.similarity(0, 1, 0.8) == 1.0


def test_the_parallel_scan_gives_the_same_corpus_as_one_process():
    rows = [
        (
            i,
            f"Question {i} about {i % 13}?",
            "",
            " ".join(f"w{(i * 7 + k) % 501}" for k in range(40)),
        )
        for i in range(6_000)
    ]
    one = dedupe.corpus_of(rows)
    two = dedupe.corpus_parallel(rows, workers=2)
    assert (one.ids == two.ids).all() and one.exact == two.exact
    assert (one.keys == two.keys).all() and (one.signatures == two.signatures).all()
    assert (one.task.values == two.task.values).all()


def _mixed_rows(count: int) -> list[tuple[int, str, str, str]]:
    """Rows of every kind the reduction treats apart: ASCII and not, punctuation of every sort,
    short tasks and long, with a passage and without, an empty response."""
    rng = random.Random(5)
    ascii_punct = [chr(c) for c in range(33, 127) if not chr(c).isalnum()]
    vocabulary = ["alpha", "beta", "Gamma", "déjà", "ﬁne", "Straße", "naïve", "x1", "_a", "42"]

    def text(words: int) -> str:
        return " ".join(
            rng.choice(vocabulary) + (rng.choice(ascii_punct) if rng.random() < 0.3 else "")
            for _ in range(words)
        )

    return [
        (
            i,
            text(rng.randint(1, 12)),
            text(rng.randint(50, 300)) if i % 3 == 0 else "",
            text(rng.choice([0, 3, 20, 80])),
        )
        for i in range(count)
    ]


def test_fingerprints_are_what_the_corpus_holds_of_the_same_rows():
    """A full rescan's first pass and every index write reduce the rows to fingerprints only;
    they must be the corpus's, in one process or forked."""
    rows = _mixed_rows(6_000)
    full = dedupe.corpus_of(rows)
    for fingerprints in (
        dedupe.fingerprints_of(rows, chunk=700),
        dedupe.fingerprints_forked(rows, workers=2).result(),
    ):
        assert type(fingerprints) is dedupe.Fingerprints
        assert (fingerprints.ids == full.ids).all() and fingerprints.exact == full.exact
        assert (fingerprints.signatures == full.signatures).all()
        assert (fingerprints.keys == full.keys).all()


def test_words_are_the_same_by_the_ascii_table_as_by_the_pattern():
    texts = [dedupe.normalize(text) for row in _mixed_rows(2_000) for text in row[1:]]
    texts.append(dedupe.normalize("".join(map(chr, range(128)))))  # controls and DEL too
    assert sum(text.isascii() for text in texts) > 1_000  # the table's share
    for text in texts:
        assert dedupe._words(text).split() == dedupe._NOT_WORD.sub(" ", text).encode().split()


def test_signatures_are_each_permutations_least_hash_of_the_shingles():
    rows = _mixed_rows(700)
    shingles = dedupe.corpus_of(rows).task
    # Texts of every size, one empty, a few at a time: the buffer is used again and again.
    ordered = dedupe.Shingles(
        values=shingles.values, offsets=np.concatenate([[0], shingles.offsets])
    )
    for chunk in (3, 256):
        found = dedupe.signatures(ordered, chunk=chunk)
        assert (found[0] == 0xFFFFFFFF).all()
        for row in range(1, len(ordered)):
            values = ordered.row(row).astype(np.uint64)
            least = ((values[None, :] * dedupe._A[:, None] + dedupe._B[:, None]) % 2**32).min(
                axis=1
            )
            assert (found[row] == least).all(), (chunk, row)


def test_forked_children_stopped_after_a_failure_are_not_waited_for_forever():
    """Children sending more than a pipe holds block until read; after a failure they are
    stopped, not waited for (each holds the pipes of those forked before it open)."""
    import threading

    work = dedupe.Forked(lambda n: b"x" * (n * 1_000_000), [1, 2, 3])
    stopped = threading.Thread(target=work.abandon, daemon=True)
    stopped.start()
    stopped.join(timeout=20)
    assert not stopped.is_alive()
    # And when nothing fails, every child's result comes back, in order.
    assert [len(part) for part in dedupe.Forked(lambda n: b"x" * n, [300_000, 5]).result()] == [
        300_000,
        5,
    ]


def test_imported_records_keep_their_text_as_published(tmp_path):
    """The submission rules against Dolly's known defects are for writers: an imported corpus
    keeps a repeated instruction, its passage as the response, and its citation markers (the
    quality checks, not the importer, are where such records get flagged)."""
    passage = "Kibo[a] is the tallest of Kilimanjaro's three cones.[1]"
    path = write_jsonl(
        tmp_path,
        [
            dolly("Name a prime.", "name a prime."),
            dolly("Summarise.", passage, category="summarization", context=passage),
        ],
    )
    call_command("import_dolly", str(path), "--source", "dolly-15k")
    imported = {e.instruction: e for e in Entry.objects.filter(source__name="dolly-15k")}
    assert imported["Name a prime."].response == "name a prime."
    assert imported["Summarise."].context == passage == imported["Summarise."].response


def test_imported_defects_become_flags_and_the_import_counts_them(tmp_path, capsys):
    passage = "Kibo[a] is the tallest of Kilimanjaro's three cones.[1]"
    path = write_jsonl(
        tmp_path,
        [
            dolly("Name a prime.", "name a prime."),
            dolly("Summarise.", passage, category="summarization", context=passage),
            dolly("Who?", "Kibo is the tallest cone.[1]"),
            dolly("Clean?", "Yes, nothing wrong with this one."),
        ],
    )
    call_command("import_dolly", str(path), "--source", "dolly-15k")
    out = capsys.readouterr().out
    assert "1 flagged: response repeats the instruction (kept out of snapshots)" in out
    assert "1 flagged: response is the passage (kept out of snapshots)" in out
    # Markers in the summary's passage and response, and in the third record's response.
    assert "3 flagged: wikipedia citation markers (exported, flagged)" in out
    imported = {e.instruction: e for e in Entry.objects.filter(source__name="dolly-15k")}
    kinds = {
        name: sorted(Flag.objects.filter(entry=e).values_list("kind", "blocking"))
        for name, e in imported.items()
    }
    assert kinds == {
        "Name a prime.": [("repeats_instruction", True)],
        "Summarise.": [
            ("citation_markers", False),
            ("citation_markers", False),
            ("response_is_passage", True),
        ],
        "Who?": [("citation_markers", False)],
        "Clean?": [],
    }
    released = set(exportable_entries().values_list("instruction", flat=True))
    assert released == {"Who?", "Clean?"}
    # The nightly rescan finds the same and adds nothing.
    assert services.quality_rescan(full=True).licensing.flagged == 0


def test_while_typing_text_like_nothing_costs_one_query(
    alice, bob, postgresql, django_assert_num_queries
):
    """The writing page's check looks up exact copies and near candidates together, and asks who
    may read what only when something matched."""
    index(submitted(alice, instruction="When was Hubble launched?", response=ANSWER))
    with django_assert_num_queries(1):
        found = selectors.duplicates_similar_for(
            viewer=bob, instruction="Name three rivers of Peru.", context="", response="The Amazon."
        )
    assert found == []


def _revise(entry, response: str) -> None:
    Entry.objects.filter(pk=entry.pk).update(response=response)
    entry.refresh_from_db()
    services.fingerprint_update(entry=entry)


@pytest.mark.parametrize("stale", ["no keys", "other rules"])
def test_keys_a_fingerprint_cannot_vouch_for_are_read_from_the_buckets(alice, stale):
    """A row written before Fingerprint.keys existed (null), or under other duplicate rules:
    rewriting the entry goes by its bucket rows, so the keys its old text held are removed."""
    entry = index(submitted(alice, instruction="When was Hubble launched?", response=ANSWER))
    old = bucket_keys(entry)
    if stale == "no keys":
        Fingerprint.objects.filter(entry=entry).update(keys=None)
    else:  # its keys column says nothing was held: only the buckets tell the truth
        Fingerprint.objects.filter(entry=entry).update(
            keys=dedupe.keys_packed([]), rules=dedupe.RULES_VERSION + 1
        )
    _revise(entry, "It went up in April 1990 aboard the Space Shuttle Discovery, mission STS-31.")
    new = bucket_keys(entry)
    assert new == stored_keys(entry)
    gone = old - new
    assert gone  # the old text's keys are gone, not left behind as stale candidates
    assert all(entry.pk not in held for held in selectors.bucket_holders(keys=gone).values())


def test_the_migration_fills_the_keys_as_keys_packed_writes_them(alice, postgresql):
    import importlib

    from django.db import connection

    migration = importlib.import_module("quality.migrations.0008_fingerprint_keys")
    one = index(submitted(alice, instruction="When was Hubble launched?", response=ANSWER))
    two = index(submitted(alice, instruction="Name the planets.", response="Mercury, Venus."))
    written = {entry.pk: stored_keys(entry) for entry in (one, two)}
    Fingerprint.objects.update(keys=None)
    with connection.cursor() as cursor:
        cursor.execute(migration.FILL)
    assert {entry.pk: stored_keys(entry) for entry in (one, two)} == written
    assert all(written.values())
    assert bytes(Fingerprint.objects.get(entry=one).keys) == dedupe.keys_packed(bucket_keys(one))


def test_who_holds_a_key_is_read_from_the_index_alone(alice, postgresql):
    """The writing page's look-up of a text's keys reads the key index only (an index-only scan),
    never the bucket table's rows, which at a million entries are read from disk."""
    from django.db import connection, transaction

    from quality.models import Bucket

    entry = index(submitted(alice, instruction="When was Hubble launched?", response=ANSWER))
    keys = sorted(bucket_keys(entry))
    sql, params = selectors._holders_sql(Bucket._meta.db_table, "fingerprint_id", keys)
    with transaction.atomic(), connection.cursor() as cursor:
        # A table of a few rows is cheaper to scan: plan as for a large one.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Only Scan using bucket_key_holder" in plan, plan
    assert selectors.bucket_holders(keys=keys) == {key: [entry.pk] for key in keys}


def test_dropping_entries_takes_their_rows_and_buckets_and_nothing_else(alice):
    dropped = index(submitted(alice, instruction="When was Hubble launched?", response=ANSWER))
    kept = index(submitted(alice, instruction="Name the planets.", response="Mercury, Venus."))
    before = bucket_keys(kept)
    services.fingerprints_drop(entry_ids=[dropped.pk])
    assert not Fingerprint.objects.filter(entry=dropped).exists()
    assert bucket_keys(dropped) == set()
    assert bucket_keys(kept) == before == stored_keys(kept)
