"""One writer of duplicate flags: the per-entry check, the changed-since rescan and the full rescan
agree on who is whose copy, a flag a check closed reopens when found again, a person's dismissal
is final, and a chain of near copies ends with only its kept entry exported, however many nights
pass."""

import json

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command

from annotation import holds
from annotation import services as annotation
from annotation.models import Entry, EntryStatus, Flag, FlagStatus
from config.celery import registered_task
from exports import selectors as export_selectors
from exports import services as exports
from quality import services
from quality.models import ScanMark
from tests.factories import UserFactory, accepted_entry, bucket_keys, stored_keys

pytestmark = pytest.mark.django_db


def _chain():
    """Three answers: 1 and 2 alike, 2 and 3 alike, 1 and 3 not (each step changes one word)."""
    base = [f"word{k}" for k in range(40)]
    second = [*base[:10], "changed", *base[11:]]
    third = [*second[:25], "altered", *second[26:]]
    return " ".join(base), " ".join(second), " ".join(third)


@pytest.fixture
def writer(db):
    user = UserFactory(username="writer")
    annotation.agreement_accept(user=user)
    return user


@pytest.fixture
def moderator(db):
    return UserFactory(username="mod", is_staff=True)


accepted = accepted_entry


def chain(writer) -> tuple[Entry, Entry, Entry]:
    first, second, third = _chain()
    return (
        accepted(writer, instruction="Q?", response=first),
        accepted(writer, instruction="Q?", response=second),
        accepted(writer, instruction="Q?", response=third),
    )


def exported_ids() -> list[int]:
    return list(export_selectors.exportable_entries().values_list("pk", flat=True))


def run_every_beat_job():
    for entry in django_settings.CELERY_BEAT_SCHEDULE.values():
        registered_task(entry["task"]).apply().get()


def test_a_chain_ends_with_only_its_kept_entry_exported_after_any_number_of_nights(writer):
    one, two, three = chain(writer)
    for night in range(2):
        # The per-entry checks (on submit and on acceptance) run between the nightly jobs.
        for entry in (three, two, one):
            services.entry_check(entry=entry)
        run_every_beat_job()
        run_every_beat_job()
        assert exported_ids() == [one.pk], f"night {night + 1}"
        flag = Flag.objects.get(entry=three, status=FlagStatus.OPEN)
        assert flag.duplicate_of == one and f"#{two.pk}" in flag.evidence
        assert not Flag.objects.filter(entry=one, status=FlagStatus.OPEN).exists()


def test_the_per_entry_check_and_both_rescans_name_the_same_kept_copy(writer):
    one, two, three = chain(writer)
    services.fingerprints_add(entries=[one, two])  # indexed when they were submitted
    services.entry_check(entry=three)  # the check of one entry settles its whole cluster
    by_check = dict(
        Flag.objects.filter(status=FlagStatus.OPEN).values_list("entry_id", "duplicate_of_id")
    )
    assert by_check == {two.pk: one.pk, three.pk: one.pk}
    services.duplicates_rescan(full=True, workers=1)
    services.duplicates_rescan()
    after = dict(
        Flag.objects.filter(status=FlagStatus.OPEN).values_list("entry_id", "duplicate_of_id")
    )
    assert after == by_check
    assert Flag.objects.count() == 2  # no flag written twice, none closed and raised anew


def test_a_flag_a_check_closed_reopens_when_the_copy_comes_back(writer):
    answer = "Red, yellow and blue are the primary colours of traditional colour theory."
    original = accepted(writer, instruction="Primary colours?", response=answer)
    copy = accepted(writer, instruction="Primary colours?", response=answer)
    services.duplicates_rescan()
    flag = Flag.objects.get(entry=copy)
    original.response = "Something else entirely, in other words."
    original.save()
    services.duplicates_rescan()
    flag.refresh_from_db()
    assert (flag.status, flag.resolved_by) == (FlagStatus.CLOSED, None)
    assert sorted(exported_ids()) == [original.pk, copy.pk]
    original.response = answer  # reverted: the same finding again
    original.save()
    services.duplicates_rescan()
    flag.refresh_from_db()
    assert flag.status == FlagStatus.OPEN and flag.resolved_at is None
    assert exported_ids() == [original.pk]


def test_a_moderators_dismissal_is_final(writer, moderator):
    one, _, three = chain(writer)
    services.duplicates_rescan()
    flag = Flag.objects.get(entry=three)
    annotation.flag_resolve(flag=flag, moderator=moderator, action="dismiss", note="Different.")
    for _ in range(2):
        services.entry_check(entry=three)
        services.duplicates_rescan(full=True, workers=1)
        services.duplicates_rescan()
    flag.refresh_from_db()
    assert flag.status == FlagStatus.DISMISSED
    assert exported_ids() == [one.pk, three.pk]


def test_when_the_kept_copy_leaves_the_next_one_is_kept(writer):
    one, two, three = chain(writer)
    services.duplicates_rescan()
    one.status = EntryStatus.REJECTED  # as a moderator's overturn does
    one.save()
    report = services.duplicates_rescan()
    assert not report.full
    assert exported_ids() == [two.pk]
    assert dict(
        Flag.objects.filter(status=FlagStatus.OPEN).values_list("entry_id", "duplicate_of_id")
    ) == {three.pk: two.pk}


def test_the_rescan_looks_only_at_what_changed_unless_the_rules_change(writer, settings):
    answer = "The Danube flows through ten countries, more than any other river in the world."
    entries = [
        accepted(writer, instruction=f"Question {n}?", response=f"Answer number {n} here.")
        for n in range(30)
    ]
    original = accepted(writer, instruction="Which river crosses most countries?", response=answer)
    first = services.duplicates_rescan()
    assert first.full and first.entries == len(entries) + 1
    copy = accepted(writer, instruction="Which river crosses most countries?", response=answer)
    second = services.duplicates_rescan()
    assert not second.full
    assert second.entries == 2  # the new entry and the one it repeats
    assert Flag.objects.get(entry=copy).duplicate_of == original
    assert services.duplicates_rescan().entries == 0  # nothing changed since
    settings.FLOCK_DUPLICATE_THRESHOLD = 0.85
    assert services.duplicates_rescan().full


def test_the_licensing_rescan_looks_again_when_an_author_accepts_the_agreement(writer):
    late = UserFactory(username="late")
    entries = [accepted(writer, instruction=f"Fine {n}?") for n in range(5)]
    unsigned = accepted(late, instruction="Who signed?")
    first = services.licensing_rescan()
    assert first.full and first.entries == len(entries) + 1
    flag = Flag.objects.get(entry=unsigned, kind="no_agreement")
    assert services.licensing_rescan().entries == 0
    # Accepting after submitting does not cure it; the rescan looks at her entries only.
    annotation.agreement_accept(user=late)
    report = services.licensing_rescan()
    assert (report.full, report.entries) == (False, 1)
    flag.refresh_from_db()
    assert flag.status == FlagStatus.OPEN


def test_a_changed_rule_makes_the_licensing_rescan_full(writer, settings):
    entry = accepted(writer, instruction="Say hi?", response="Greetings from the ferret council.")
    services.licensing_rescan()
    assert services.licensing_rescan().entries == 0
    settings.FLOCK_EXTRA_AI_PHRASES = ["ferret council"]
    report = services.licensing_rescan()
    assert report.full and report.entries == 1
    assert Flag.objects.filter(entry=entry, kind="ai_text").exists()


def test_the_rescan_command_runs_every_step_and_says_so(writer, capsys):
    accepted(writer, instruction="One?")
    call_command("quality_rescan")
    out = capsys.readouterr().out
    assert "Duplicates (full)" in out and "Licensing (full)" in out
    assert "References (full): 0 entries checked against 0 questions of 0 reference corpora" in out
    call_command("quality_rescan")
    out = capsys.readouterr().out
    assert "Duplicates (changed since the last run): 0 entries" in out
    call_command("quality_rescan", "--full")
    assert "Duplicates (full): 1 entries" in capsys.readouterr().out
    assert set(ScanMark.objects.values_list("name", flat=True)) == {
        "duplicates",
        "licensing",
        "references",
    }


def test_a_snapshot_says_what_the_one_rule_leaves_out(writer, snapshot_storage):
    chain(writer)
    snapshot, _ = exports.snapshot_request(user=None, options={}, start=False)
    built = exports.snapshot_build(snapshot_id=snapshot.pk)
    assert built.record_count == 1
    manifest = json.loads((snapshot_storage / built.directory / "manifest.json").read_bytes())
    assert manifest["filters"]["excluded"] == holds.RULE_TEXT


def test_a_full_licensing_rescan_finds_the_same_on_every_core(writer, monkeypatch):
    from quality.services import checks

    late = UserFactory(username="late")
    texts = [
        ("Mail me?", "Write to someone@example.com today."),
        ("Hello?", "As an AI language model, I cannot say."),
        ("Fine?", "Nothing wrong here at all."),
        ("Repeat?", "repeat?"),
    ]
    for n in range(3):
        for instruction, response in texts:
            accepted(writer, instruction=f"{instruction} {n}", response=response)
    accepted(late, instruction="Unsigned?", response="Fine words.")
    monkeypatch.setattr(checks, "PARALLEL_FROM", 2)
    progress = []
    # Chunks of 3: each chunk's checks run in forked processes while the last one is written.
    in_parallel = services.licensing_rescan(
        full=True, workers=2, chunk_size=3, on_chunk=lambda *done: progress.append(done)
    )
    assert progress == [(3, 13), (6, 13), (9, 13), (12, 13), (13, 13)]
    parallel_flags = sorted(Flag.objects.values_list("entry_id", "kind", "evidence_key"))
    Flag.objects.all().delete()
    monkeypatch.setattr(checks, "PARALLEL_FROM", 10_000)
    alone = services.licensing_rescan(full=True, workers=1)
    assert sorted(Flag.objects.values_list("entry_id", "kind", "evidence_key")) == parallel_flags
    assert in_parallel.flagged == alone.flagged == len(parallel_flags)
    assert {kind for _, kind, _ in parallel_flags} >= {"personal_data", "ai_text", "no_agreement"}


def test_a_licensing_rescan_that_fails_leaves_no_forked_process_behind(writer, monkeypatch):
    import os

    from quality import dedupe
    from quality.services import checks

    for n in range(6):
        accepted(writer, instruction=f"Mail me {n}?", response="Write to someone@example.com.")
    started = []
    fork_one = dedupe._fork_one
    monkeypatch.setattr(
        dedupe, "_fork_one", lambda *args: started.append(fork_one(*args)) or started[-1]
    )
    monkeypatch.setattr(checks, "PARALLEL_FROM", 2)
    monkeypatch.setattr(checks, "findings_record", lambda **_: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        services.licensing_rescan(full=True, workers=2, chunk_size=2)
    # The first chunk's two, then the second's, running when the first's write failed.
    assert len(started) == 4
    for pid, _pipe in started:
        with pytest.raises(ChildProcessError):  # already waited for
            os.waitpid(pid, os.WNOHANG)


def test_new_duplicate_rules_rewrite_the_stored_index(writer, monkeypatch):
    from quality import dedupe
    from quality.models import Bucket, Fingerprint

    one, two, _ = chain(writer)
    services.duplicates_rescan()
    assert set(Fingerprint.objects.values_list("rules", flat=True)) == {dedupe.RULES_VERSION}
    Bucket.objects.filter(fingerprint_id=one.pk).delete()  # as keys of older rules would miss
    monkeypatch.setattr(dedupe, "RULES_VERSION", dedupe.RULES_VERSION + 1)
    report = services.duplicates_rescan()
    assert report.full
    assert set(Fingerprint.objects.values_list("rules", flat=True)) == {dedupe.RULES_VERSION}
    assert Bucket.objects.filter(fingerprint_id=one.pk).exists()
    # The index answers for the entry again: its copy is found through it.
    services.entry_check(entry=two)
    assert Flag.objects.get(entry=two, status=FlagStatus.OPEN).duplicate_of == one


def test_both_paths_leave_questions_of_one_shape_apart_and_catch_a_short_copy(writer):
    peru = accepted(writer, instruction="Is Peru located in Asia?", response="No.")
    chile = accepted(writer, instruction="Is Chile located in Asia?", response="No.")
    hub = accepted(writer, instruction="Is located in Asia?", response="No.")
    original = accepted(writer, instruction="What is the capital of Peru?", response="Lima.")
    copy = accepted(writer, instruction="What is the capital of Peru?", response="Lima, Peru.")
    services.fingerprints_add(entries=[peru, chile, hub, original, copy])
    for entry in (hub, peru, chile, copy):  # the per-entry check, through the index
        services.entry_check(entry=entry)
    by_check = dict(
        Flag.objects.filter(status=FlagStatus.OPEN).values_list("entry_id", "duplicate_of_id")
    )
    services.duplicates_rescan(full=True, workers=1)  # the corpus rescan, all at once
    by_rescan = dict(
        Flag.objects.filter(status=FlagStatus.OPEN).values_list("entry_id", "duplicate_of_id")
    )
    assert by_check == by_rescan == {copy.pk: original.pk}


def test_a_key_too_many_entries_share_gives_no_candidates(writer, monkeypatch):
    from quality import dedupe
    from quality import selectors as quality_selectors

    same = [accepted(writer, instruction="Name a colour.", response="Red.") for _ in range(3)]
    services.fingerprints_add(entries=same)
    keys = bucket_keys(same[0])
    monkeypatch.setattr(dedupe, "MAX_BUCKET", 3)
    holders = quality_selectors.bucket_holders(keys=keys)
    assert set(holders) == keys and all(sorted(m) == [e.pk for e in same] for m in holders.values())
    # The writing page's check looks its keys up with the exact hash, by the same rule.
    near = {"instruction": "Name a colour.", "context": "", "response": "Red, say."}
    found = quality_selectors.duplicates_similar(**near)
    assert found and {match.entry_id for match in found} <= {e.pk for e in same}
    assert not any(match.exact for match in found)
    monkeypatch.setattr(dedupe, "MAX_BUCKET", 2)
    assert quality_selectors.bucket_holders(keys=keys) == {}
    assert quality_selectors.duplicates_similar(**near) == []
    exact = quality_selectors.duplicates_similar(
        instruction="Name a colour.", context="", response="Red."
    )
    assert sorted(match.entry_id for match in exact) == [e.pk for e in same]  # the hash still


def test_a_revised_entrys_index_holds_exactly_its_new_keys(writer):
    """The rescan writes only the keys a revision lost and gained, and the index comes out as a
    fresh write of the new text would: no key of the old text left, none of the new missing."""
    from quality import dedupe
    from quality.models import Bucket, Fingerprint

    first, _second, third = _chain()
    entries = [
        accepted(writer, instruction=f"Describe item {n}.", response=first) for n in range(3)
    ]
    services.fingerprints_add(entries=entries)
    old = {e.pk: bucket_keys(e) for e in entries}
    for entry in entries[:2]:
        Entry.objects.filter(pk=entry.pk).update(response=third)
    services.fingerprints_add(entries=list(Entry.objects.filter(pk__in=[e.pk for e in entries])))
    for entry in Entry.objects.filter(pk__in=[e.pk for e in entries]):
        fresh = dedupe.corpus_of([(entry.pk, entry.instruction, entry.context, entry.response)])
        keys = bucket_keys(entry)
        assert keys == {int(key) for key in fresh.keys[0]}
        # The fingerprint row keeps what its buckets hold (Fingerprint.keys).
        assert stored_keys(entry) == keys
        assert Fingerprint.objects.get(entry=entry).exact_hash == fresh.exact[0]
        assert Bucket.objects.filter(fingerprint_id=entry.pk).count() == len(keys)
    # The revision kept some keys and changed others: both paths of the write ran.
    revised = bucket_keys(entries[0])
    assert revised & old[entries[0].pk] and revised ^ old[entries[0].pk]
    assert old[entries[2].pk] == bucket_keys(entries[2])


def _open_flags() -> dict[int, int]:
    return dict(
        Flag.objects.filter(status=FlagStatus.OPEN).values_list("entry_id", "duplicate_of_id")
    )


def test_a_full_rescan_read_block_by_block_finds_what_one_read_finds(writer, monkeypatch):
    """The full rescan reads the corpus a block at a time and keeps only each entry's hash and
    keys: a chain across blocks is still one cluster, a copy far from its original is still
    found, and questions of one shape stay apart."""
    from quality import dedupe
    from quality.services import duplicates

    one, two, three = chain(writer)
    accepted(writer, instruction="Is Peru located in Asia?", response="No.")
    accepted(writer, instruction="Is Chile located in Asia?", response="No.")
    accepted(writer, instruction="Is located in Asia?", response="No.")
    answer = "Red, yellow and blue are the primary colours of traditional colour theory."
    original = accepted(writer, instruction="Primary colours?", response=answer)
    for k in range(3):
        accepted(writer, instruction=f"Unrelated question {k}?", response=f"Answer {k} " * 9)
    copy = accepted(writer, instruction="Primary colours?", response=answer)
    wanted = {two.pk: one.pk, three.pk: one.pk, copy.pk: original.pk}

    services.duplicates_rescan(full=True, workers=1)  # one block
    assert _open_flags() == wanted
    Flag.objects.all().delete()
    monkeypatch.setattr(duplicates, "RESCAN_BLOCK", 2)
    monkeypatch.setattr(duplicates, "KEY_PARTS_PER_WORKER", 3)
    report = services.duplicates_rescan(full=True, workers=1)
    assert _open_flags() == wanted
    assert report.entries == Entry.objects.count() == 11
    # Each block reduced by two forked processes while the next is read and the last indexed.
    Flag.objects.all().delete()
    monkeypatch.setattr(dedupe, "PARALLEL_FROM", 1)
    assert services.duplicates_rescan(full=True, workers=2).entries == 11
    assert _open_flags() == wanted


def test_a_full_rescan_that_fails_leaves_no_forked_process_behind(writer, monkeypatch):
    import os

    from quality import dedupe
    from quality.services import duplicates

    for n in range(6):
        accepted(writer, instruction=f"Question {n}?", response=f"Answer number {n}, in full.")
    started = []
    fork_one = dedupe._fork_one
    monkeypatch.setattr(
        dedupe, "_fork_one", lambda *args: started.append(fork_one(*args)) or started[-1]
    )
    monkeypatch.setattr(dedupe, "PARALLEL_FROM", 1)
    monkeypatch.setattr(duplicates, "RESCAN_BLOCK", 2)
    monkeypatch.setattr(duplicates, "_stale_rows", lambda corpus: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        services.duplicates_rescan(full=True, workers=2)
    # The first block's two, then the second's, running when the first's indexing failed.
    assert len(started) == 4
    for pid, _pipe in started:
        with pytest.raises(ChildProcessError):  # already waited for
            os.waitpid(pid, os.WNOHANG)


def test_a_full_rescan_failing_while_its_keys_are_sorted_leaves_no_sort_behind(writer, monkeypatch):
    """The job's process finds the exact pairs while forked processes sort the keys: a failure
    there stops and waits for the sorts."""
    import os

    from quality import dedupe

    for n in range(6):
        accepted(writer, instruction=f"Question {n}?", response=f"Answer number {n}, in full.")
    started = []
    fork_one = dedupe._fork_one
    monkeypatch.setattr(dedupe, "PARALLEL_FROM", 1)
    monkeypatch.setattr(
        dedupe, "_fork_one", lambda *args: started.append(fork_one(*args)) or started[-1]
    )
    monkeypatch.setattr(dedupe, "exact_rows", lambda digests: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        services.duplicates_rescan(full=True, workers=2)
    assert len(started) == 4  # the block's two, then the two sorts
    for pid, _pipe in started:
        with pytest.raises(ChildProcessError):  # already waited for
            os.waitpid(pid, os.WNOHANG)


def test_a_full_rescan_compares_entries_as_they_are_when_it_reads_them_again(writer, monkeypatch):
    """Between the rescan's two reads three exact copies are revised or deleted: the one revised
    into other words is no copy now, the one given a word more is a near copy, and the deleted
    one drops out."""
    from quality.services import duplicates

    answer = "Red, yellow and blue are the primary colours of traditional colour theory."
    original = accepted(writer, instruction="Primary colours?", response=answer)
    revised = accepted(writer, instruction="Primary colours?", response=answer)
    near = accepted(writer, instruction="Primary colours?", response=answer)
    deleted = accepted(writer, instruction="Primary colours?", response=answer)
    read_again = duplicates._corpus_of_pairs

    def meanwhile(ids, pairs, workers):
        Entry.objects.filter(pk=revised.pk).update(response="Cyan, magenta and yellow, in print.")
        Entry.objects.filter(pk=near.pk).update(response=answer + " Indeed.")
        Entry.objects.filter(pk=deleted.pk).delete()
        return read_again(ids, pairs, workers)

    monkeypatch.setattr(duplicates, "_corpus_of_pairs", meanwhile)
    services.duplicates_rescan(full=True, workers=1)
    assert _open_flags() == {near.pk: original.pk}
    assert Flag.objects.get(entry=near).kind == "near_duplicate"
