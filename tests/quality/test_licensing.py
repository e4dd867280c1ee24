import datetime
import random
import re
from collections import namedtuple

import pytest
from django.utils import timezone

from annotation import services as annotation
from annotation.models import ContributorAgreement, Entry, Flag, FlagStatus
from annotation.text import TEXT_FIELDS
from quality import ai_phrases, checks, personal_data, services
from quality import selectors as quality_selectors
from quality.personal_data import find_personal_data
from tests.factories import EntryFactory, category, submitted

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def alice_agreed(alice):
    """Alice accepted the agreement before writing, so her entries raise only what is tested."""
    annotation.agreement_accept(user=alice)


@pytest.mark.parametrize(
    ("text", "kind", "span"),
    [
        ("Write to jane.doe@example.com for details.", "email", "jane.doe@example.com"),
        ("Call me on +44 20 7946 0958 tonight.", "phone", "+44 20 7946 0958"),
        ("Our office: (555) 123-4567.", "phone", "(555) 123-4567"),
        ("Pay with 4111 1111 1111 1111 please.", "card", "4111 1111 1111 1111"),
        ("Card 5500-0000-0000-0004 expired.", "card", "5500-0000-0000-0004"),
        ("My SSN is 123-45-6789.", "national_id", "123-45-6789"),
        ("NI number AB 12 34 56 C on file.", "national_id", "AB 12 34 56 C"),
        ("IBAN GB82 WEST 1234 5698 7654 32 for rent.", "iban", "GB82 WEST 1234 5698 7654 32"),
        ("DE89370400440532013000 is the account.", "iban", "DE89370400440532013000"),
        ("The server at 192.168.1.20 is down.", "ip", "192.168.1.20"),
        ("Reach it on 2001:db8::1 instead.", "ip", "2001:db8::1"),
        ("Text me on 07700 900123.", "phone", "07700 900123"),
        ("Or +44 7700 900123 from abroad.", "phone", "+44 7700 900123"),
        ("Paris office: +33 1 23 45 67 89.", "phone", "+33 1 23 45 67 89"),
        ("Berlin: +49 30 12345678.", "phone", "+49 30 12345678"),
        ("US: +12025550143.", "phone", "+12025550143"),
        ("NANP 555-123-4567 too.", "phone", "555-123-4567"),
        ("My SSN 123 45 6789 is secret.", "national_id", "123 45 6789"),
        ("iban gb82 west 1234 5698 7654 32 in lower case", "iban", "gb82 west 1234 5698 7654 32"),
    ],
)
def test_personal_data_is_found_with_its_span(text, kind, span):
    (match,) = find_personal_data(text)
    assert (match.kind, match.text) == (kind, span)
    assert text[match.start : match.start + len(span)] == span


@pytest.mark.parametrize(
    "text",
    [
        "Barack Obama was the 44th president of the United States.",
        "The meeting is on 2023-01-15 at 10:30.",
        "It cost $1,000,000 in 1999 and 2,500,000 in 2010.",
        "Python 3.11.7 was released; see version 1.2.3.4b.",
        "Paris has 2 102 650 inhabitants.",
        "The Battle of Hastings was in 1066.",
        "ISBN 978-3-16-148410-0 identifies the book.",
        "The card number 4111 1111 1111 1112 fails its check digit.",
        "Call at 10:30:15 sharp, room 101, floor 3.",
        "The screen is 16:9 and pi is 3.14159265358979.",
        "GB82 is not an account number.",
        "Score: 12-3-2021, 7-6, 6-4.",
        "Apollo 11 landed on 1969-07-16 13:32 UTC.",
        "Seasons 2019 2020 2021 were cancelled; see 1999-2000-2001.",
        "Rooms 101-102-103 are on the first floor.",
        "Pi begins 3 1415 9265 3589.",
        "ISBN 978-1-4028-9462-6 passes the Luhn check but is a book.",
        "Upgrade to version 1.2.3.4 now.",
        "The private range 10.0.0.0/8 is not routed.",
        "Loopback is ::1; a::b and dead::beef are not addresses anyone owns.",
    ],
)
def test_ordinary_numbers_dates_and_public_names_are_not_personal_data(text):
    assert find_personal_data(text) == []


SHAPES = [
    "ddd-dd-dddd",
    "SSN ddd dd dddd",
    "social security number: ddd dd dddd",
    "dddd dddd dddd dddd",
    "dddd-dddd-dddd-dddd",
    "ddddddddddddddd",
    "d.d.d.d",
    "ddd.ddd.dd.ddd",
    "(ddd) ddd-dddd",
    "+dd dd dddd dddd",
    "+ddddddddddd",
    "ddddd dddddd",
    "ddd-ddd-dddd",
    "LLdd LLLL dddd dddd dddd dd",
    "LLdddddddddddddddddddd",
    "LL dd dd dd L",
    "LLdddddd",
]


def _digit_heavy_texts(count: int) -> list[str]:
    """Texts made of what the personal-data patterns are about: their shapes (SHAPES, d a digit
    and L a capital letter), often with one character changed, dropped or doubled, among digit
    groups, separators and letters."""
    rng = random.Random(11)
    digits = "0123456789" * 9 + "٣"  # an Arabic-Indic digit now and then: \\d matches it too

    def shape() -> str:
        text = "".join(
            rng.choice(digits) if c == "d" else rng.choice("ABGMZ") if c == "L" else c
            for c in rng.choice(SHAPES)
        )
        if rng.random() < 0.4:
            at = rng.randrange(len(text))
            text = text[:at] + rng.choice(["", text[at] * 2, " ", "-", "."]) + text[at + 1 :]
        return text

    def piece() -> str:
        if rng.random() < 0.3:
            return shape()
        if rng.random() < 0.5:
            return "".join(rng.choice(digits) for _ in range(rng.randint(1, 5)))
        return rng.choice([" ", " ", "-", ".", "+", "(", ")", ":", "/", "ab", "x", "@", "v"])

    return ["".join(piece() for _ in range(rng.randint(3, 15))) for _ in range(count)]


def test_each_screen_matches_wherever_its_pattern_does():
    """find_personal_data runs a pattern only after its screen matched: a screen that missed a
    text the pattern matches would hide personal data. The texts hit every pattern."""
    texts = _digit_heavy_texts(30_000)
    for pattern, screen in personal_data.SCREENS.items():
        hits = [text for text in texts if pattern.search(text)]
        assert len(hits) > 50, pattern.pattern
        assert all(screen.search(text) for text in hits), pattern.pattern
        assert all(personal_data.ANY_SCREEN.search(text) for text in hits), pattern.pattern
    unscreened = dict.fromkeys(personal_data.SCREENS, re.compile(""))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(personal_data, "SCREENS", unscreened)
        patch.setattr(personal_data, "ANY_SCREEN", re.compile(""))
        found = [find_personal_data(text) for text in texts[:5_000]]
    assert [find_personal_data(text) for text in texts[:5_000]] == found


def kinds(entry):
    return sorted(Flag.objects.filter(entry=entry).values_list("kind", flat=True))


def test_a_chatbots_phrases_are_flagged_and_plain_answers_are_not(alice, settings):
    chatty = submitted(alice, response="Certainly! Here is a list of ideas for you.")
    plain = submitted(alice, response="Large language models learn from text; here is why.")
    services.entry_check(entry=chatty)
    services.entry_check(entry=plain)
    assert kinds(chatty) == ["ai_text"]
    assert kinds(plain) == []
    for innocent in [
        "I am an airline pilot and I love it.",
        "Who founded OpenAI?",
        "ChatGPT was released in November 2022.",
    ]:
        entry = submitted(alice, response=innocent)
        services.entry_check(entry=entry)
        assert kinds(entry) == [], innocent
    for giveaway in [
        "I\u2019m an AI, so I cannot say.",
        "As an  AI language\u00a0model, I think so.",
        "Certainly! Here are five ideas.",
    ]:
        entry = submitted(alice, response=giveaway)
        services.entry_check(entry=entry)
        assert kinds(entry) == ["ai_text"], giveaway
    settings.FLOCK_EXTRA_AI_PHRASES = ["delve into"]
    delving = submitted(alice, response="Let us delve into the history of Rome.")
    services.entry_check(entry=delving)
    assert kinds(delving) == ["ai_text"]


def test_the_any_phrase_pattern_matches_where_one_of_the_phrases_does():
    """check_ai_text names phrases only in a text where one of their anchors is and its one
    pattern for any phrase matched; those must answer exactly where a phrase's own pattern
    matches, word boundaries included, for phrases that begin with a letter or not."""
    phrases = (*ai_phrases.AI_PHRASES, "delve into", "!!", "a", "--ok")
    prepared = checks._ai_patterns(phrases)
    rng = random.Random(7)

    def piece() -> str:
        phrase = rng.choice(phrases)
        if rng.random() < 0.3:  # cut short, or a letter too many
            phrase = phrase[: rng.randrange(len(phrase) + 1)] + rng.choice(["", "x"])
        return rng.choice(["", "x", " ", ",", "'", "!"]) + phrase

    texts = ["".join(piece() for _ in range(rng.randint(1, 4))) for _ in range(20_000)]
    hits = 0
    for text in texts:
        found = any(pattern.search(text) for _, pattern in prepared.each)
        assert prepared.any_in(text) == found, text
        hits += found
    assert 2_000 < hits < 18_000


def test_an_entrys_phrases_are_found_in_each_field_and_never_across_two(settings):
    """check_ai_text screens the three fields joined first: every phrase in a field is named,
    as each field's own search names them, whether or not a phrase is split between fields
    ("I am an" ending one, "AI" beginning the next, which is in neither)."""
    settings.FLOCK_EXTRA_AI_PHRASES = ["delve into", "!!", "--ok"]
    phrases = ai_phrases.ai_phrases()
    prepared = checks._ai_patterns(phrases)
    rng = random.Random(11)
    Row = namedtuple("Row", TEXT_FIELDS)

    def field() -> str:
        phrase = rng.choice(phrases)
        cut = rng.randrange(len(phrase) + 1)
        return rng.choice([phrase[:cut], phrase[cut:], phrase, "x" + phrase, "plain words"])

    found_some = 0
    for _ in range(5_000):
        row = Row(field(), field(), field())
        wanted = [
            f'{name}: "{phrase}"'
            for name in TEXT_FIELDS
            for phrase, pattern in prepared.each
            if pattern.search(checks._plain(getattr(row, name)))
        ]
        assert [f.evidence for f in checks.check_ai_text(row)] == wanted, row
        found_some += bool(wanted)
    assert 500 < found_some < 4_500


def test_personal_data_in_any_field_is_a_blocking_flag_with_the_span(alice):
    entry = submitted(alice, instruction="Email bob@corp.example the summary.", response="Done.")
    services.entry_check(entry=entry)
    flag = Flag.objects.get(entry=entry)
    assert (flag.kind, flag.blocking) == ("personal_data", True)
    # Stored masked (issue 12): the domain says enough, the address stays in the text.
    assert '"•••@corp.example"' in flag.evidence and flag.evidence.startswith("instruction")
    assert "bob@" not in flag.evidence and "bob@" not in flag.evidence_key


def test_a_passage_from_a_source_off_the_allow_list_is_flagged(alice, settings):
    ok = submitted(
        alice,
        category=category("closed_qa"),
        context="A passage.",
        source_url="https://en.wikipedia.org/wiki/Paris",
    )
    services.entry_check(entry=ok)
    assert kinds(ok) == []
    settings.FLOCK_ALLOWED_SOURCE_DOMAINS = ["intranet.example.com"]
    services.entry_check(entry=ok)
    flag = Flag.objects.get(entry=ok)
    assert flag.kind == "source_not_allowed" and "en.wikipedia.org" in flag.evidence
    unsourced = submitted(alice, category=category("closed_qa"), context="A passage.")
    services.entry_check(entry=unsourced)
    assert Flag.objects.get(entry=unsourced).evidence == "The passage has no source URL."


def test_an_author_without_the_agreement_in_force_at_submission_is_flagged(alice, bob):
    annotation.agreement_accept(user=alice)
    fine = submitted(alice)
    services.entry_check(entry=fine)
    assert kinds(fine) == []

    # Bob's entry came in before he accepted anything (an old client, an import gone wrong).
    early = submitted(bob, submitted_at=timezone.now() - datetime.timedelta(minutes=5))
    annotation.agreement_accept(user=bob)
    services.entry_check(entry=early)
    assert kinds(early) == ["no_agreement"]

    # A new version was in force when Alice submitted this one, and she had not accepted it.
    ContributorAgreement.objects.create(version="2", text="New.", published_at=timezone.now())
    later = submitted(alice, submitted_at=timezone.now() + datetime.timedelta(seconds=1))
    services.entry_check(entry=later)
    assert Flag.objects.get(entry=later).evidence_key == "2"


def test_rerunning_the_checks_never_duplicates_or_reopens_a_flag(alice, carol):
    entry = submitted(alice, response="As an AI language model I cannot say. Mail x@y.example")
    assert len(services.entry_check(entry=entry)) == 2
    assert services.entry_check(entry=entry) == []
    flag = Flag.objects.get(entry=entry, kind="ai_text")
    annotation.flag_resolve(flag=flag, moderator=carol, action="dismiss", note="Quoting a novel.")
    assert services.entry_check(entry=entry) == []
    flag.refresh_from_db()
    assert flag.status == FlagStatus.DISMISSED
    assert Flag.objects.filter(entry=entry).count() == 2
    assert services.licensing_rescan(full=True).flagged == 0


def test_submitting_runs_the_checks_once_the_submit_commits(
    alice, django_capture_on_commit_callbacks, eager_celery
):
    annotation.agreement_accept(user=alice)
    entry = annotation.entry_create(
        author=alice,
        category=category("open_qa"),
        values={"instruction": "Who wrote this?", "response": "As an AI language model, no idea."},
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        annotation.entry_submit(entry=entry, actor=alice)
    assert not Flag.objects.exists()  # nothing before the commit
    for callback in callbacks:
        callback()
    assert kinds(entry) == ["ai_text"]


def test_drafts_are_not_checked_by_the_nightly_job(alice):
    EntryFactory(author=alice, response="As an AI language model, a draft.")
    report = services.quality_rescan(full=True)
    assert (report.licensing.entries, report.licensing.flagged) == (0, 0)
    assert not Flag.objects.exists()


def test_every_reviewer_whose_fix_is_in_the_text_needs_the_agreement(alice, bob, dave):
    """Audit finding 1: the agreement check covers each person whose revision is in the text,
    at the moment they wrote it, in the per-entry check and in the corpus rescan alike."""
    from annotation.services.entries import revision_record

    def fixed_by(reviewer):
        entry = submitted(alice, response="Teh answer.")
        revision_record(entry=entry, author=alice)
        entry.response = "The answer."
        entry.save(update_fields=["response"])
        revision_record(entry=entry, author=reviewer)
        return entry

    annotation.agreement_accept(user=bob)
    by_bob = fixed_by(bob)
    by_dave = fixed_by(dave)  # dave had not accepted when he fixed
    annotation.agreement_accept(user=dave)
    services.entry_check(entry=by_bob)
    services.entry_check(entry=by_dave)
    assert kinds(by_bob) == []
    (flag,) = Flag.objects.filter(entry=by_dave)
    assert flag.kind == "no_agreement" and flag.evidence_key == "fix:2:1"

    # The rescan reads the fixes of a whole chunk at once and finds the same.
    Flag.objects.all().delete()
    assert services.licensing_rescan(full=True).flagged == 1
    assert [f.entry_id for f in Flag.objects.filter(kind="no_agreement")] == [by_dave.pk]


def test_flags_among_many_entry_ids_are_those_entries_flags(alice):
    """The rescans read a chunk's flags by `selectors.among` (one array on PostgreSQL, IN lists
    of 5,000 ORed on SQLite): exactly the flags of the ids given."""
    entries = [submitted(alice, response=f"Mail me at person{n}@corp.example") for n in range(3)]
    for entry in entries:
        services.entry_check(entry=entry)
    wanted = [entries[0].pk, entries[2].pk, *range(10**6, 10**6 + 12_000)]
    found = Flag.objects.filter(quality_selectors.among("entry_id", wanted))
    assert sorted(found.values_list("entry_id", flat=True)) == [entries[0].pk, entries[2].pk]
    assert not Flag.objects.filter(quality_selectors.among("entry_id", [])).exists()


@pytest.mark.parametrize("digit", "0123456789")
def test_a_number_of_any_one_digit_is_looked_at(digit):
    """An ASCII text with no digit skips the digit patterns: each digit must count as one."""
    text = f"Call {digit * 3}-{digit * 3}-{digit * 4} now."
    assert [(m.kind, m.text) for m in find_personal_data(text)] == [("phone", text[5:17])]


def test_a_row_of_the_licensing_fields_is_checked_as_its_entry_is(bob):
    """licensing_rescan checks rows of LICENSING_FIELDS, not Entry objects: every check must
    find on the row what it finds on the entry (a check reading another field would fail)."""
    entry = submitted(
        bob,  # who never accepted the agreement
        category=category("closed_qa"),
        context="A passage copied without its source.",
        response="Certainly! Here is the number: +44 20 7946 0958, as the passage says.[3]",
    )
    row = Entry.objects.filter(pk=entry.pk).values_list(*checks.LICENSING_FIELDS, named=True).get()
    found = checks.licensing_findings(entry, checks.AgreementBook())
    assert {finding.kind for finding in found} == {
        "no_agreement",
        "source_not_allowed",
        "ai_text",
        "personal_data",
        "citation_markers",
    }
    assert checks.licensing_findings(row, checks.AgreementBook()) == found
