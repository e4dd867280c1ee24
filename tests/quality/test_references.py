"""Contamination: an admin imports a reference corpus (an evaluation set) with import_dolly
--reference; a submitted or imported entry whose instruction matches one of its questions,
exactly or nearly, gets a blocking flag naming the corpus and is never exported, while the
questions themselves are never shown to writers, never become entries and never leave in a
snapshot."""

import gzip
import io
import json
import logging
import tarfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from annotation import services as annotation
from annotation.models import Decision, Entry, EntryStatus, Flag, FlagKind, FlagStatus
from exports import services as exports
from exports.models import SnapshotStatus
from quality import dedupe, selectors, services, tasks
from quality.models import ReferenceBucket, ReferenceCorpus, ReferenceItem
from tests.factories import UserFactory, category, submitted

pytestmark = pytest.mark.django_db

CORPUS = "Company eval v2"
# The planted benchmark question, and a question of the same shape asking something else.
QUESTION = "Which river flows through the ancient city of Timbuktu in Mali?"
SIBLING = "Which river flows through the ancient city of Timbuktu in Niger?"
# A long question: one word of 40 changed leaves its shingles 85% alike.
LONG_QUESTION = (
    "Considering the thermal expansion coefficients of steel and concrete, explain why "
    "reinforced concrete structures built in regions with extreme seasonal temperature swings "
    "rarely crack at the interface between the rebar and the surrounding cement matrix over "
    "several decades of use."
)


def write_jsonl(tmp_path: Path, lines: list[str], name: str = "eval.jsonl") -> str:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def question(instruction: str, **more) -> str:
    return json.dumps({"instruction": instruction, **more})


def dolly(instruction: str, response: str = "An answer of a few words.") -> str:
    return json.dumps(
        {"instruction": instruction, "context": "", "response": response, "category": "open_qa"}
    )


@pytest.fixture
def eval_set(tmp_path):
    """The company's evaluation set, imported by an admin."""
    lines = [
        question("Name the largest moon of Saturn.", response="Titan", category="open_qa"),
        question(QUESTION, context="ignored", response="The Niger."),
        question(LONG_QUESTION),
    ]
    call_command("import_dolly", "--reference", CORPUS, write_jsonl(tmp_path, lines))
    return ReferenceCorpus.objects.get(name=CORPUS)


def reference_flags(entry) -> list[Flag]:
    return list(Flag.objects.filter(entry=entry, kind=FlagKind.REFERENCE_MATCH).order_by("pk"))


def judged_key(corpus, instruction: str) -> str:
    """A reference flag's evidence_key: the corpus, and the instruction that was judged."""
    return f"reference:{corpus.pk}:{dedupe.exact_hash(instruction, '', '')[:16]}"


def revise(entry: Entry, instruction: str) -> Entry:
    Entry.objects.filter(pk=entry.pk).update(instruction=instruction)
    entry.refresh_from_db()
    services.entry_check(entry=entry)
    return entry


def accept(entry: Entry) -> Entry:
    Entry.objects.filter(pk=entry.pk).update(status=EntryStatus.ACCEPTED)
    Decision.objects.create(entry=entry, round=1, outcome="accepted", approvals=2)
    entry.refresh_from_db()
    return entry


def build_snapshot(snapshot_storage):
    snapshot, _ = exports.snapshot_request(user=None, options={}, start=False)
    snapshot = exports.snapshot_build(snapshot_id=snapshot.pk)
    assert snapshot.status == SnapshotStatus.READY, snapshot.error
    folder = snapshot_storage / snapshot.directory
    return snapshot, folder


# --- The check -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "how"),
    [
        (QUESTION, "exactly"),
        ("which river flows through the ancient city of TIMBUKTU, in Mali", "% similar"),
        (QUESTION.replace("ancient ", "old ancient "), "% similar"),  # a word added
        (QUESTION.replace("Timbuktu", "Timbutku"), "% similar"),  # a slip of the keys
        (LONG_QUESTION.replace("several decades", "many decades"), "% similar"),
    ],
)
def test_a_planted_benchmark_question_submitted_is_flagged_and_never_exported(
    client,
    alice,
    eval_set,
    typed,
    how,
    snapshot_storage,
    django_capture_on_commit_callbacks,
    eager_celery,
):
    annotation.agreement_accept(user=alice)
    client.force_login(alice)
    form = {"entry": "", "category": "open_qa", "instruction": typed, "response": "The Niger."}
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/entries/submit/", form).status_code == 302
    entry = Entry.objects.get(author=alice)
    [flag] = reference_flags(entry)
    assert (flag.status, flag.blocking) == (FlagStatus.OPEN, True)
    assert f"of the reference corpus “{CORPUS}” (" in flag.evidence
    assert how in flag.evidence and "never released" in flag.evidence
    assert flag.evidence_key == judged_key(eval_set, typed)
    assert QUESTION not in flag.evidence and LONG_QUESTION not in flag.evidence

    accept(entry)
    kept = accept(submitted(alice, instruction="Who painted the Mona Lisa?"))
    snapshot, folder = build_snapshot(snapshot_storage)
    data = (folder / "data.jsonl").read_text()
    assert [json.loads(line)["instruction"] for line in data.splitlines()] == [kept.instruction]
    assert snapshot.record_count == 1


def test_the_check_runs_on_submit_and_on_acceptance(
    alice, bob, carol, eval_set, django_capture_on_commit_callbacks, eager_celery
):
    annotation.agreement_accept(user=alice)
    entry = annotation.entry_create(
        author=alice,
        category=category("open_qa"),
        values={"instruction": QUESTION, "response": "The Niger."},
    )
    with django_capture_on_commit_callbacks(execute=True):
        annotation.entry_submit(entry=entry, actor=alice)
    [flag] = reference_flags(entry)
    Flag.objects.filter(pk=flag.pk).update(status=FlagStatus.CLOSED)  # as a check closes one
    with django_capture_on_commit_callbacks(execute=True):
        for reviewer in (bob, carol):
            annotation.review_record(entry=entry, reviewer=reviewer, verdict="approve", rating=4)
    entry.refresh_from_db()
    assert entry.status == EntryStatus.ACCEPTED
    flag.refresh_from_db()
    assert flag.status == FlagStatus.OPEN  # found again on acceptance: reopened


def test_an_unrelated_entry_and_a_question_of_the_same_shape_are_not_flagged(alice, eval_set):
    unrelated = submitted(alice, instruction="How do I bake sourdough bread at home?")
    sibling = submitted(alice, instruction=SIBLING)
    for entry in (unrelated, sibling):
        services.entry_check(entry=entry)
        assert reference_flags(entry) == []
    assert selectors.references_matching(instructions=[(1, SIBLING)]) == {}


def test_an_entry_checked_before_the_corpus_existed_is_flagged_by_the_import(tmp_path, alice):
    entry = submitted(alice, instruction=QUESTION.upper())
    services.entry_check(entry=entry)
    assert reference_flags(entry) == []
    call_command("import_dolly", "--reference", CORPUS, write_jsonl(tmp_path, [question(QUESTION)]))
    [flag] = reference_flags(entry)
    assert flag.status == FlagStatus.OPEN and CORPUS in flag.evidence
    assert "question 1 of" in flag.evidence


def test_an_imported_dolly_record_that_matches_is_flagged(tmp_path, eval_set, capsys):
    path = write_jsonl(tmp_path, [dolly(QUESTION), dolly("Why do cats purr?")], name="d.jsonl")
    call_command("import_dolly", path, "--source", "public-qa", "--license", "cc0-1.0")
    matching = Entry.objects.get(instruction=QUESTION)
    other = Entry.objects.get(instruction="Why do cats purr?")
    [flag] = reference_flags(matching)
    assert flag.blocking and flag.status == FlagStatus.OPEN
    assert reference_flags(other) == []
    assert "1 flagged: matches a reference (evaluation) question" in capsys.readouterr().out


def test_deleting_the_corpus_closes_the_flag_at_the_next_rescan(client, alice, eval_set):
    entry = submitted(alice, instruction=QUESTION)
    services.entry_check(entry=entry)
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)
    url = f"/admin/quality/referencecorpus/{eval_set.pk}/delete/"
    page = client.get(url).content.decode()
    assert "reference questions: 3" in page.lower() and QUESTION not in page
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not ReferenceItem.objects.exists() and not ReferenceBucket.objects.exists()
    [flag] = reference_flags(entry)
    assert flag.status == FlagStatus.OPEN  # until the next rescan

    report = services.quality_rescan().references
    assert report.full and report.corpora == 0
    flag.refresh_from_db()
    assert flag.status == FlagStatus.CLOSED and flag.note == "No longer found when checked again."
    assert services.quality_rescan().references.entries == 0  # nothing changed since


def test_a_moderators_dismissal_stands_and_a_closed_flag_reopens(client, alice, carol, eval_set):
    dismissed = submitted(alice, instruction=QUESTION)
    services.entry_check(entry=dismissed)
    [flag] = reference_flags(dismissed)
    client.force_login(carol)
    client.post(f"/moderation/flags/{flag.pk}/resolve/", {"action": "dismiss"})
    flag.refresh_from_db()
    assert flag.status == FlagStatus.DISMISSED

    revised = submitted(alice, instruction=LONG_QUESTION)
    services.entry_check(entry=revised)
    [closing] = reference_flags(revised)
    Entry.objects.filter(pk=revised.pk).update(instruction="Tell me a story about a lighthouse.")
    revised.refresh_from_db()
    services.entry_check(entry=revised)
    closing.refresh_from_db()
    assert closing.status == FlagStatus.CLOSED

    Entry.objects.filter(pk=revised.pk).update(instruction=LONG_QUESTION)
    for _ in range(2):
        report = services.references_rescan(full=True)
    assert report.entries == 2 and report.full
    flag.refresh_from_db()
    closing.refresh_from_db()
    assert flag.status == FlagStatus.DISMISSED  # a person's decision stands
    assert closing.status == FlagStatus.OPEN  # a check's closing does not
    assert Flag.objects.filter(kind=FlagKind.REFERENCE_MATCH).count() == 2


def test_one_flag_per_corpus_naming_its_best_question(tmp_path, alice, eval_set):
    more = [question(QUESTION.replace("ancient ", "")), question("What is 2 + 2?")]
    call_command("import_dolly", "--reference", "Public bench", write_jsonl(tmp_path, more))
    entry = submitted(alice, instruction=QUESTION)
    services.entry_check(entry=entry)
    flags = sorted(reference_flags(entry), key=lambda flag: flag.evidence_key)
    bench = ReferenceCorpus.objects.get(name="Public bench")
    ours, theirs = judged_key(eval_set, QUESTION), judged_key(bench, QUESTION)
    assert [flag.evidence_key for flag in flags] == sorted([ours, theirs])
    by_key = {flag.evidence_key: flag.evidence for flag in flags}
    assert "question 2 of the reference corpus “Company eval v2” (exactly)" in by_key[ours]
    assert "question 1 of the reference corpus “Public bench” (" in by_key[theirs]


def test_a_dismissal_covers_the_judged_text_only(client, alice, carol, eval_set):
    # A near match, judged false by a moderator...
    typo = QUESTION.replace("Timbuktu", "Timbutku")
    entry = submitted(alice, instruction=typo)
    services.entry_check(entry=entry)
    [dismissed] = reference_flags(entry)
    client.force_login(carol)
    client.post(f"/moderation/flags/{dismissed.pk}/resolve/", {"action": "dismiss"})
    dismissed.refresh_from_db()
    assert dismissed.status == FlagStatus.DISMISSED
    services.entry_check(entry=entry)  # checked again, the same text: the decision stands
    assert [flag.status for flag in reference_flags(entry)] == [FlagStatus.DISMISSED]

    # ...then the author revises the instruction into an exact copy of another question of the
    # same corpus: a new open, blocking flag; the dismissal covered the other text only.
    revise(entry, LONG_QUESTION)
    dismissed_again, fresh = reference_flags(entry)
    assert dismissed_again.status == FlagStatus.DISMISSED
    assert (fresh.status, fresh.blocking) == (FlagStatus.OPEN, True)
    assert fresh.evidence_key == judged_key(eval_set, LONG_QUESTION)
    assert "question 3 of the reference corpus “Company eval v2” (exactly)" in fresh.evidence

    # Rewritten once more, still matching: the stale open flag closes, the new text is flagged.
    revise(entry, QUESTION)
    _, stale, newest = reference_flags(entry)
    assert (stale.status, stale.note) == (
        FlagStatus.CLOSED,
        "No longer found when checked again.",
    )
    assert newest.status == FlagStatus.OPEN and "question 2 of" in newest.evidence


def test_a_dismissed_match_rewritten_is_never_exported(
    client, alice, carol, eval_set, snapshot_storage
):
    annotation.agreement_accept(user=alice)  # so that only the flag can keep the entry out
    entry = submitted(alice, instruction=QUESTION.replace("Timbuktu", "Timbutku"))
    services.entry_check(entry=entry)
    [flag] = reference_flags(entry)
    client.force_login(carol)
    client.post(f"/moderation/flags/{flag.pk}/resolve/", {"action": "dismiss"})
    accept(revise(entry, LONG_QUESTION))
    snapshot, folder = build_snapshot(snapshot_storage)
    assert snapshot.record_count == 0
    assert LONG_QUESTION[:60] not in (folder / "data.jsonl").read_text()


def test_the_rescan_checks_what_changed_unless_the_corpora_changed(tmp_path, alice, eval_set):
    entries = [submitted(alice) for _ in range(3)]
    # The import checked everything; these were submitted since.
    first = services.references_rescan()
    assert (first.full, first.entries, first.corpora, first.questions) == (False, 3, 1, 3)
    assert services.references_rescan(full=True).entries == 3
    assert services.references_rescan().entries == 0
    Entry.objects.filter(pk=entries[0].pk).update(instruction=QUESTION)
    services.entry_rescan_mark(entry_id=entries[0].pk)
    changed = services.references_rescan()
    assert (changed.full, changed.entries, changed.flagged) == (False, 1, 1)
    newer = [question("Which new question is this one?")]
    call_command("import_dolly", "--reference", CORPUS, write_jsonl(tmp_path, newer, "b"))
    # The import's own check was the full one; the task reports the step too.
    assert tasks.quality_rescan()["references"] == {
        "entries": 0,
        "flagged": 0,
        "corpora": 1,
        "questions": 4,
        "full": False,
    }


def test_a_full_rescan_in_chunks_finds_what_the_check_of_one_entry_finds(alice, eval_set):
    texts = [QUESTION, "Unrelated?", QUESTION.lower(), SIBLING, LONG_QUESTION, "Another?"]
    entries = [submitted(alice, instruction=text) for text in texts]
    report = services.references_rescan(full=True, chunk_size=2)
    assert (report.entries, report.flagged) == (6, 3)
    flagged = set(
        Flag.objects.filter(kind=FlagKind.REFERENCE_MATCH).values_list("entry_id", flat=True)
    )
    assert flagged == {entries[0].pk, entries[2].pk, entries[4].pk}
    # The index read into memory (a rescan) and the database look-ups (one entry) agree.
    rows = [(entry.pk, entry.instruction) for entry in entries]
    in_memory = selectors.references_matching(instructions=rows, index=selectors.reference_index())
    assert in_memory == selectors.references_matching(instructions=rows)
    assert set(in_memory) == flagged


# --- What writers see ------------------------------------------------------------------------


def test_the_writing_page_names_the_corpus_never_the_question(client, bob, eval_set):
    client.force_login(bob)
    typed = QUESTION.replace("Timbuktu", "Timbutku")
    form = {"entry": "", "category": "open_qa", "instruction": typed, "response": ""}
    page = client.post("/entries/similar/", form, HTTP_HX_REQUEST="true").content.decode()
    assert f"This is close to an evaluation question (corpus “{CORPUS}”)" in page
    assert "entries that match one are never released" in page
    assert QUESTION not in page and "Timbuktu" not in page and "question 2" not in page
    quiet = client.post("/entries/similar/", {**form, "instruction": "Why is the sea salty?"})
    assert "evaluation question" not in quiet.content.decode()
    client.logout()
    assert client.post("/entries/similar/", form, HTTP_HX_REQUEST="true").status_code == 401


def test_the_writing_page_asks_whether_a_corpus_exists_once_and_learns_of_an_import_at_once(
    client, bob, tmp_path, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(bob)
    form = {"entry": "", "category": "open_qa", "instruction": QUESTION, "response": ""}

    def check() -> tuple[str, list[str]]:
        with CaptureQueriesContext(connection) as queries:
            page = client.post("/entries/similar/", form, HTTP_HX_REQUEST="true")
        return page.content.decode(), [q["sql"] for q in queries if "referenceitem" in q["sql"]]

    page, asked = check()
    assert "evaluation question" not in page and len(asked) == 1  # no corpus: asked once
    page, asked = check()
    assert asked == []  # then the cache answers, while typing

    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "import_dolly", "--reference", CORPUS, write_jsonl(tmp_path, [question(QUESTION)])
        )
    page, asked = check()
    assert f"This is close to an evaluation question (corpus “{CORPUS}”)" in page  # at once

    corpus = ReferenceCorpus.objects.get(name=CORPUS)
    with django_capture_on_commit_callbacks(execute=True):
        services.reference_corpus_delete(corpus=corpus)
    page, asked = check()  # "maybe" stands until read again: candidates looked for, none found
    assert "evaluation question" not in page and asked


def test_a_request_that_read_no_corpus_before_an_import_cannot_keep_the_warning_away(
    tmp_path, django_capture_on_commit_callbacks
):
    from config.caching import remembered

    def read_before_the_import_commits() -> bool:
        with django_capture_on_commit_callbacks(execute=True):
            call_command(
                "import_dolly", "--reference", CORPUS, write_jsonl(tmp_path, [question(QUESTION)])
            )
        return False  # what the request read just before

    assert remembered(selectors.REFERENCES_EXIST_KEY, 60, read_before_the_import_commits) is False
    assert selectors.references_exist(cached=True) is True  # the next request's answer


def test_a_check_that_flags_never_takes_the_cached_answer(alice, tmp_path):
    """A corpus imported just as a writing page cached "no corpus" (the forget on commit not
    yet run): the warning may lag, the flag on submit does not."""
    assert selectors.references_exist(cached=True) is False  # cached
    call_command("import_dolly", "--reference", CORPUS, write_jsonl(tmp_path, [question(QUESTION)]))
    assert selectors.references_exist(cached=True) is False  # the test never committed
    entry = submitted(alice, instruction=QUESTION, response="The Niger.")
    services.entry_check(entry=entry)
    assert [flag.evidence_key[:10] for flag in reference_flags(entry)] == ["reference:"]


def test_reference_questions_never_reach_a_contributor_or_a_snapshot(
    client, alice_api, alice, eval_set, snapshot_storage
):
    assert Entry.objects.count() == 0  # the questions never became entries
    # Alice's entry is a near copy (a slip of the keys): its own text is not the question's.
    typo = QUESTION.replace("Timbuktu", "Timbutku")
    entry = submitted(alice, instruction=typo)
    services.entry_check(entry=entry)
    client.force_login(alice)
    pages = [
        client.get("/entries/").content.decode(),
        client.get(f"/entries/{entry.pk}/").content.decode(),
        client.get("/write/").content.decode(),
        json.dumps(alice_api.get("/api/v1/entries/").json()),
        json.dumps(alice_api.get(f"/api/v1/entries/{entry.pk}/flags/").json()),
    ]
    assert CORPUS in pages[1] and CORPUS in pages[4]  # the flag names the corpus to its author
    for page in pages:
        assert QUESTION not in page and "Timbuktu " not in page
        assert "largest moon of Saturn" not in page and LONG_QUESTION[:60] not in page

    annotation.agreement_accept(user=alice)
    accept(entry)
    kept = accept(submitted(alice, instruction="Who painted the Mona Lisa?"))
    snapshot, folder = build_snapshot(snapshot_storage)
    assert snapshot.record_count == 1  # the other entry: the near copy is held back
    names = {path.name for path in folder.rglob("*") if path.is_file()}
    assert any(name.endswith(".tar.gz") for name in names)
    for path in folder.rglob("*"):
        if path.is_file():
            for name, content in readable(path.name, path.read_bytes()):
                if name.endswith("data.jsonl"):
                    assert kept.instruction.encode() in content  # the reading is right
                assert b"Timbuktu" not in content and b"Saturn" not in content, name


def readable(name: str, content: bytes) -> list[tuple[str, bytes]]:
    """A snapshot file as text could be searched: gunzipped, its tar's members opened, and a
    Parquet file's values read (its own bytes are compressed)."""
    if name.endswith(".gz"):
        return readable(name[:-3], gzip.decompress(content))
    if name.endswith(".tar"):
        out = [(name, content)]
        with tarfile.open(fileobj=io.BytesIO(content)) as tar:
            for member in tar.getmembers():
                if member.isfile():
                    out += readable(member.name, tar.extractfile(member).read())
        return out
    if name.endswith(".parquet"):
        import pandas

        frame = pandas.read_parquet(io.BytesIO(content))
        return [(name, content), (name, frame.to_json(orient="records").encode())]
    return [(name, content)]


# --- The import command ----------------------------------------------------------------------


def test_the_reference_import_reports_its_lines_and_skips_repeats(tmp_path, capsys, carol):
    lines = [
        question("What is the boiling point of water?"),
        "",
        question("   "),
        '{"instruction": "unfinished',
        json.dumps({"response": "no instruction"}),
        json.dumps({"instruction": 42}),
        question("WHAT IS THE BOILING POINT OF WATER?"),  # a repeat once normalised
        question("Who discovered penicillin in 1928?", category="not-a-category", context=7),
    ]
    call_command(
        "import_dolly", "--reference", CORPUS, "--by", "carol", write_jsonl(tmp_path, lines)
    )
    out, err = capsys.readouterr()
    assert (
        f"Reference corpus “{CORPUS}”: 7 lines read, 2 added, 1 repeated, "
        "0 too short to match safely, 4 skipped for errors." in out
    )
    assert "References (full): 0 entries checked against 2 questions of 1 reference corpora" in out
    assert "line 3: instruction is blank (skipped)" in err
    assert "line 4: not valid JSON" in err
    assert "line 5: no instruction (skipped)" in err
    assert "line 6: instruction is not a string (skipped)" in err
    corpus = ReferenceCorpus.objects.get()
    assert (corpus.item_count, corpus.created_by) == (2, carol)
    # Numbered by their place in the corpus, not by their line in the file.
    assert list(corpus.items.values_list("number", flat=True)) == [1, 2]

    again = [question("Who discovered penicillin in 1928?"), question("Name a prime number.")]
    call_command("import_dolly", "--reference", CORPUS, write_jsonl(tmp_path, again, "b.jsonl"))
    assert "2 lines read, 1 added, 1 repeated, 0 too short" in capsys.readouterr().out
    corpus.refresh_from_db()
    assert corpus.item_count == 3 and corpus.created_by == carol
    assert not Entry.objects.exists()


def test_a_second_file_is_numbered_after_the_corpus_s_last_question(tmp_path, alice, eval_set):
    # The eval set's file had 3 lines; this one's line 1 is the corpus's question 4.
    added = [question("Explain why the sky looks blue at noon."), question(QUESTION)]
    call_command("import_dolly", "--reference", CORPUS, write_jsonl(tmp_path, added, "b.jsonl"))
    numbers = dict(eval_set.items.values_list("instruction", "number"))
    assert numbers == {
        "Name the largest moon of Saturn.": 1,
        QUESTION: 2,
        LONG_QUESTION: 3,
        "Explain why the sky looks blue at noon.": 4,
    }
    entry = submitted(alice, instruction="explain why the sky looks blue at noon.")
    services.entry_check(entry=entry)
    [flag] = reference_flags(entry)
    assert f"question 4 of the reference corpus “{CORPUS}” (exactly)" in flag.evidence


def test_questions_too_short_to_match_safely_are_not_indexed(tmp_path, capsys, alice, settings):
    lines = [
        question("Summarise the passage."),
        question("Which river flows through Timbuktu?"),
        question("Translate this, please!"),
        question("Name the largest moon of Saturn."),
    ]
    call_command("import_dolly", "--reference", CORPUS, write_jsonl(tmp_path, lines))
    out, err = capsys.readouterr()
    assert "4 lines read, 2 added, 0 repeated, 2 too short to match safely, 0 skipped" in out
    assert (
        "2 questions of fewer than 4 words, too short to match safely, not indexed: lines 1, 3."
        in err
    )
    corpus = ReferenceCorpus.objects.get()
    assert list(corpus.items.values_list("number", "instruction")) == [
        (1, "Which river flows through Timbuktu?"),
        (2, "Name the largest moon of Saturn."),
    ]
    generic = submitted(alice, instruction="Summarise the passage.")
    services.entry_check(entry=generic)
    assert reference_flags(generic) == []

    settings.FLOCK_REFERENCE_MIN_WORDS = 6
    assert services.reference_question_too_short("Which river flows through Timbuktu?")
    assert services.reference_items_add(corpus=corpus, questions=["What is two plus two?"]) == 0
    assert not services.reference_question_too_short("Name the largest moon of Saturn.")


def test_indexing_again_under_new_rules_keeps_the_lowest_numbered_of_questions_made_alike(
    tmp_path, alice, eval_set, caplog
):
    # As if older duplicate rules had told apart what the current ones normalise alike:
    # question 1 (stale) now reads as question 2 (indexed under the current rules), and
    # question 3 is stale too, its text unchanged.
    first, second, third = eval_set.items.order_by("number")
    ReferenceItem.objects.filter(pk=first.pk).update(
        instruction=QUESTION.upper(), exact_hash="0" * 64, rules=dedupe.RULES_VERSION - 1
    )
    ReferenceItem.objects.filter(pk=third.pk).update(rules=dedupe.RULES_VERSION - 1)
    with caplog.at_level(logging.WARNING, logger="quality.services.references"):
        report = services.quality_rescan().references
    assert "corpus" in caplog.text and "question 2" in caplog.text
    assert list(eval_set.items.values_list("pk", "number", "rules")) == [
        (first.pk, 1, dedupe.RULES_VERSION),
        (third.pk, 3, dedupe.RULES_VERSION),
    ]
    eval_set.refresh_from_db()
    assert eval_set.item_count == 2 and report.questions == 2
    assert not ReferenceBucket.objects.filter(item_id=second.pk).exists()
    entry = submitted(alice, instruction=QUESTION)
    services.entry_check(entry=entry)
    [flag] = reference_flags(entry)
    assert "question 1 of the reference corpus" in flag.evidence
    assert services.quality_rescan().references.questions == 2  # and it holds


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--reference", CORPUS, "missing.jsonl"], "is not a file"),
        (["--reference", CORPUS, "--license", "mit", "FILE"], "--license: a reference corpus"),
        (["--reference", CORPUS, "--source", "x", "FILE"], "--source: a reference corpus"),
        (["--reference", CORPUS, "--by", "nobody", "FILE"], "There is no user 'nobody'"),
        (["--reference", "<b>eval</b>", "FILE"], "one line of letters"),
        (["--by", "carol", "FILE"], "use it with --reference"),
        (["--license", "mit", "FILE"], "cannot be released under CC-BY-SA 3.0"),
        (["--license", "cc-by-nc-4.0", "--source", "x", "FILE"], "cannot be released"),
    ],
)
def test_command_errors(tmp_path, carol, arguments, message):
    path = write_jsonl(tmp_path, [dolly(QUESTION)])
    arguments = [path if argument == "FILE" else argument for argument in arguments]
    if "missing.jsonl" in arguments:
        arguments[arguments.index("missing.jsonl")] = str(tmp_path / "missing.jsonl")
    with pytest.raises(CommandError, match=message):
        call_command("import_dolly", *arguments)
    assert not ReferenceCorpus.objects.exists() and not Entry.objects.exists()


def test_the_normal_import_still_takes_its_source_and_licence(tmp_path):
    call_command("import_dolly", write_jsonl(tmp_path, [dolly(QUESTION)]))
    entry = Entry.objects.get()
    assert (entry.source.name, entry.source.license) == ("databricks-dolly-15k", "cc-by-sa-3.0")
    assert not ReferenceCorpus.objects.exists()


# --- The admin -------------------------------------------------------------------------------


def test_reference_corpora_are_for_superusers_only_in_the_admin(client, carol, eval_set):
    from django.contrib.auth.models import Permission

    # Carol is staff (a moderator); even given every permission on them, she cannot see them.
    carol.user_permissions.add(*Permission.objects.filter(content_type__app_label="quality"))
    client.force_login(carol)
    assert client.get("/admin/quality/referencecorpus/").status_code == 403
    assert client.get(f"/admin/quality/referencecorpus/{eval_set.pk}/change/").status_code == 403
    assert (
        client.post(
            f"/admin/quality/referencecorpus/{eval_set.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert "Reference corpora" not in client.get("/admin/").content.decode()
    assert ReferenceCorpus.objects.exists()

    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)
    listing = client.get("/admin/quality/referencecorpus/").content.decode()
    assert CORPUS in listing and QUESTION not in listing
    change = client.get(f"/admin/quality/referencecorpus/{eval_set.pk}/change/").content.decode()
    assert CORPUS in change and QUESTION not in change
    assert client.get("/admin/quality/referencecorpus/add/").status_code == 403
    # The questions themselves are not browsable in the admin at all.
    assert client.get("/admin/quality/referenceitem/").status_code == 404
