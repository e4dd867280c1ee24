"""The checks on one entry: licensing, provenance and structure. Each returns findings; nothing
is written here (quality/services writes them as flags).

Which findings block, in one place (BLOCKING; annotation/holds.py says what blocking means: kept
out of snapshots while the flag is open or confirmed). Licensing and provenance findings block,
because each would make the released data unsafe to publish under CC-BY-SA 3.0 (text we have no
right to, an unattributable passage, somebody's personal data, a chatbot's words). Duplicates
block: every copy but the one kept stays out, and a moderator who judges a near copy a different
task dismisses its flag. Of the defects Databricks repaired in dolly-15k after release, a response
that repeats the instruction or is the passage blocks (the record teaches nothing); citation
markers only inform (the record is still right, its text wants a clean-up).
"""

import functools
import re
from dataclasses import dataclass

from django.db.models import F

from annotation.masking import mask_value
from annotation.models import AgreementAcceptance, ContributorAgreement, Entry, FlagKind, Revision
from annotation.sources import source_url_error
from annotation.text import TEXT_FIELDS, citation_markers, comparable, response_defects
from quality.ai_phrases import ai_phrases
from quality.personal_data import find_personal_data
from quality.selectors import among

BLOCKING = {
    FlagKind.SOURCE_NOT_ALLOWED: True,
    FlagKind.NO_AGREEMENT: True,
    FlagKind.AI_TEXT: True,
    FlagKind.PERSONAL_DATA: True,
    FlagKind.EXACT_DUPLICATE: True,
    FlagKind.NEAR_DUPLICATE: True,
    FlagKind.RESPONSE_REPEATS_INSTRUCTION: True,
    FlagKind.RESPONSE_IS_PASSAGE: True,
    FlagKind.CITATION_MARKERS: False,
    FlagKind.MODERATOR: True,
    # An evaluation question must never be trained on (quality/services/references.py).
    FlagKind.REFERENCE_MATCH: True,
}

PERSONAL_DATA_LABELS = {
    "email": "e-mail address",
    "phone": "phone number",
    "card": "payment card number",
    "national_id": "national identity number",
    "iban": "bank account (IBAN)",
    "ip": "IP address",
}


@dataclass(frozen=True)
class Finding:
    kind: str
    evidence: str
    evidence_key: str
    duplicate_of: int | None = None  # duplicate findings: the entry that is kept
    similarity: float | None = None

    @property
    def blocking(self) -> bool:
        return BLOCKING[self.kind]


def check_source(entry: Entry) -> list[Finding]:
    """A reference passage needs a source URL on the allow-list (FLOCK_ALLOWED_SOURCE_DOMAINS), by
    the rule of annotation.sources (the one a submission meets), so that a URL stored under an
    older, laxer rule is flagged too. Imported entries carry their corpus's source and licence
    instead, so they are not asked."""
    if not entry.context.strip() or entry.source_id is not None:
        return []
    if not entry.source_url:
        return [Finding(FlagKind.SOURCE_NOT_ALLOWED, "The passage has no source URL.", "missing")]
    problem = source_url_error(entry.source_url)
    if problem:
        return [
            Finding(FlagKind.SOURCE_NOT_ALLOWED, f"{entry.source_url}: {problem}", entry.source_url)
        ]
    return []


class AgreementBook:
    """The agreement versions and who accepted which when, read once for many entries.

    `load(user_ids)` reads those users' acceptances in one query; a check of an entry whose
    author was not loaded reads them then.
    """

    def __init__(self):
        self.versions = list(
            ContributorAgreement.objects.order_by("published_at").values_list(
                "pk", "version", "published_at"
            )
        )
        self.accepted: dict[int, dict[int, object]] = {}
        # Per entry, the revisions other people made of it (reviewers' fixes): (author, number, when).
        self.fixes: dict[int, list[tuple[int, int, object]]] = {}

    def load(self, user_ids) -> None:
        fresh = {pk for pk in user_ids if pk is not None and pk not in self.accepted}
        if not fresh:
            return
        for user_id in fresh:
            self.accepted[user_id] = {}
        rows = AgreementAcceptance.objects.filter(user_id__in=fresh).values_list(
            "user_id", "agreement_id", "accepted_at"
        )
        for user_id, agreement_id, accepted_at in rows:
            self.accepted[user_id][agreement_id] = accepted_at

    def load_fixes(self, entries) -> None:
        """Read, in one query, the revisions of these entries made by someone other than their
        author, and those people's acceptances."""
        fresh = [entry for entry in entries if entry.pk not in self.fixes]
        if not fresh:
            return
        for entry in fresh:
            self.fixes[entry.pk] = []
        rows = (
            Revision.objects.filter(
                among(f"{Revision._meta.db_table}.entry_id", [entry.pk for entry in fresh])
            )
            .exclude(author_id=F("entry__author_id"))
            .order_by("entry_id", "number")
            .values_list("entry_id", "author_id", "number", "created_at")
        )
        authors = set()
        for entry_id, author_id, number, created_at in rows:
            self.fixes[entry_id].append((author_id, number, created_at))
            authors.add(author_id)
        self.load(authors)

    def fixes_of(self, entry: Entry) -> list[tuple[int, int, object]]:
        self.load_fixes([entry])
        return self.fixes[entry.pk]

    def in_force(self, moment) -> tuple[int, str, object] | None:
        current = None
        for version in self.versions:
            if version[2] <= moment:
                current = version
        return current

    def had_accepted(self, user_id: int, agreement_id: int, moment) -> bool:
        self.load([user_id])
        accepted_at = self.accepted[user_id].get(agreement_id)
        return accepted_at is not None and accepted_at <= moment


def check_agreement(entry: Entry, book: AgreementBook | None = None) -> list[Finding]:
    """Everyone whose words are in the entry had accepted the agreement in force when they wrote
    them: the author when submitting, and each reviewer whose fix changed its text when fixing.

    A fix counts even when the author later rewrote the words it touched: which of its words
    survive is not worth deciding, and a fix without the agreement is refused since issue 12.
    """
    if entry.submitted_at is None or entry.author_id is None:
        return []
    book = book or AgreementBook()
    in_force = book.in_force(entry.submitted_at)
    if in_force is None:
        return [Finding(FlagKind.NO_AGREEMENT, "No agreement was in force at submission.", "none")]
    findings = []
    agreement_id, version, _ = in_force
    if not book.had_accepted(entry.author_id, agreement_id, entry.submitted_at):
        findings.append(
            Finding(
                FlagKind.NO_AGREEMENT,
                f"The author had not accepted agreement version {version} when submitting.",
                version,
            )
        )
    for fixer_id, number, made_at in book.fixes_of(entry):
        in_force = book.in_force(made_at)
        if in_force is not None and book.had_accepted(fixer_id, in_force[0], made_at):
            continue
        version = in_force[1] if in_force else "none"
        findings.append(
            Finding(
                FlagKind.NO_AGREEMENT,
                f"Revision {number}, a reviewer's fix, was made by someone who had not accepted "
                f"agreement version {version}; their words are in the entry.",
                f"fix:{number}:{version}",
            )
        )
    return findings


def _plain(text: str) -> str:
    """The text as the phrase checks compare it: annotation.text.comparable (the one definition of
    "the same text"), with curly quotes straightened, since chatbots and keyboards differ there."""
    return comparable(text).replace("\u2019", "'").replace("\u2018", "'")


@dataclass(frozen=True)
class _Phrases:
    """The chatbot phrases made ready for many texts (_ai_patterns)."""

    anchors: tuple[str, ...]  # a piece of each phrase, looked for first
    any_phrase: re.Pattern  # matches where one of the phrases does
    each: list[tuple[str, re.Pattern]]  # one pattern per phrase, to name them all

    def any_in(self, plain: str) -> bool:
        """Whether one of the phrases is in this text (made _plain)."""
        return any(anchor in plain for anchor in self.anchors) and bool(
            self.any_phrase.search(plain)
        )


def _anchor(phrase: str) -> str:
    """A piece of the phrase that ordinary text seldom has: its longest word (the last of the
    longest) when it has five characters or more, else its last two words ("an ai")."""
    words = phrase.split(" ")  # pieces of the phrase as it is, joined again below
    longest = max(reversed(words), key=len)
    return longest if len(longest) >= 5 else " ".join(words[-2:])


@functools.lru_cache(maxsize=8)
def _ai_patterns(phrases: tuple[str, ...]) -> _Phrases:
    """Most text has none of the phrases, so each text is asked first whether it holds one of
    their anchors (_anchor: a substring search in C, ten or so of them cheaper than one pass
    of a pattern), then whether the one pattern for any phrase matches.

    That pattern is the phrases grouped by their first character, each group's word-boundary
    check made just after that character (`(?<!\\w[\\s\\S])`: what comes before it is no word
    character): a pattern that begins with a choice of characters lets re skip in C to the next
    of them, where one that begins with an assertion is tried at every position of a text."""
    each = [(p, re.compile(rf"(?<!\w){re.escape(p)}(?!\w)")) for p in phrases]
    by_first: dict[str, list[str]] = {}
    for phrase in sorted(phrases, key=len, reverse=True):
        by_first.setdefault(phrase[0], []).append(re.escape(phrase[1:]))
    alternatives = "|".join(
        rf"{re.escape(first)}(?<!\w[\s\S])(?:{'|'.join(rests)})"
        for first, rests in by_first.items()
    )
    return _Phrases(
        anchors=tuple(dict.fromkeys(map(_anchor, phrases))),
        any_phrase=re.compile(rf"(?:{alternatives})(?!\w)"),
        each=each,
    )


def check_ai_text(entry: Entry) -> list[Finding]:
    """Chatbot phrases, matched as whole words ("I am an AI", not "I am an airline pilot")."""
    findings = []
    phrases = _ai_patterns(ai_phrases())
    plain = [_plain(getattr(entry, name)) for name in TEXT_FIELDS]
    # Asked of the fields at once first (most entries have none): a phrase cannot match across
    # the NUL between two fields, which is no word character, as neither end of a text is.
    if not phrases.any_in("\x00".join(plain)):
        return []
    for name, text in zip(TEXT_FIELDS, plain, strict=True):
        if not phrases.any_in(text):
            continue
        for phrase, pattern in phrases.each:
            if pattern.search(text):
                findings.append(
                    Finding(FlagKind.AI_TEXT, f'{name}: "{phrase}"', f"{name}:{phrase}")
                )
    return findings


def check_personal_data(entry: Entry) -> list[Finding]:
    findings = []
    for name in TEXT_FIELDS:
        for match in find_personal_data(getattr(entry, name)):
            # Stored masked, evidence and key alike: flags are read by reviewers and moderators,
            # and the text itself is where the value is (annotation/masking.py).
            label = PERSONAL_DATA_LABELS[match.kind]
            shown = mask_value(match.text)
            findings.append(
                Finding(
                    FlagKind.PERSONAL_DATA,
                    f'{name}: {label} "{shown}"',
                    f"{name}:{match.kind}:{shown}",
                )
            )
    return findings


def check_structure(entry: Entry) -> list[Finding]:
    """The defects Databricks repaired in dolly-15k after release (annotation.text's
    response_defects, the rule that refuses them at submit), and citation markers in the passage
    too. A written entry never has them; an imported one keeps its text, with these flags."""
    values = {name: getattr(entry, name) for name in TEXT_FIELDS}
    defects = response_defects(values)
    findings = []
    if "repeats_instruction" in defects:
        findings.append(
            Finding(FlagKind.RESPONSE_REPEATS_INSTRUCTION, defects["repeats_instruction"], "")
        )
    if "copies_passage" in defects:
        findings.append(Finding(FlagKind.RESPONSE_IS_PASSAGE, defects["copies_passage"], ""))
    for name in ("context", "response"):
        markers = citation_markers(getattr(entry, name))
        if markers:
            shown = ", ".join(markers[:10]) + (", …" if len(markers) > 10 else "")
            findings.append(Finding(FlagKind.CITATION_MARKERS, f"{name}: {shown}", name))
    return findings


STRUCTURE_KINDS = (
    FlagKind.RESPONSE_REPEATS_INSTRUCTION,
    FlagKind.RESPONSE_IS_PASSAGE,
    FlagKind.CITATION_MARKERS,
)

# The kinds the per-entry checks below decide (duplicates are quality/services/duplicates.py's,
# hand-raised flags a moderator's): a rescan closes an open flag of these kinds whose finding is
# gone, and no other.
LICENSING_KINDS = (
    FlagKind.SOURCE_NOT_ALLOWED,
    FlagKind.NO_AGREEMENT,
    FlagKind.AI_TEXT,
    FlagKind.PERSONAL_DATA,
    *STRUCTURE_KINDS,
)


# Every field of an entry the checks below read: licensing_rescan reads only these, as rows.
LICENSING_FIELDS = ("pk", "author_id", "source_id", "submitted_at", "source_url", *TEXT_FIELDS)


def licensing_findings(entry: Entry, book: AgreementBook | None = None) -> list[Finding]:
    """Every licensing, provenance and structure finding on the entry (pass a book when
    checking many). `entry` is an Entry or a row with the LICENSING_FIELDS by their names."""
    return [
        *check_source(entry),
        *check_agreement(entry, book),
        *check_ai_text(entry),
        *check_personal_data(entry),
        *check_structure(entry),
    ]
