"""Licensing and provenance checks on one entry. Each returns findings; nothing is written here.

Policy, in one place: every finding below blocks export until a moderator dismisses it, because
each one would make the released data unsafe to publish under CC-BY-SA 3.0 (text we have no right
to, an unattributable passage, somebody's personal data, a chatbot's words).
"""

import functools
import re
import unicodedata
from dataclasses import dataclass

from annotation.models import AgreementAcceptance, ContributorAgreement, Entry, FlagKind
from annotation.text import TEXT_FIELDS, source_url_error
from quality.ai_phrases import ai_phrases
from quality.personal_data import find_personal_data

BLOCKING = {
    FlagKind.SOURCE_NOT_ALLOWED: True,
    FlagKind.NO_AGREEMENT: True,
    FlagKind.AI_TEXT: True,
    FlagKind.PERSONAL_DATA: True,
    FlagKind.EXACT_DUPLICATE: True,
    FlagKind.NEAR_DUPLICATE: False,  # a reviewer may judge it a different task on one passage
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
    """A reference passage needs a source URL on the allow-list (FLOCK_ALLOWED_SOURCE_DOMAINS).
    Imported entries carry their corpus's source and licence instead, so they are not asked."""
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
    """The author had accepted the agreement version in force when they submitted."""
    if entry.submitted_at is None or entry.author_id is None:
        return []
    book = book or AgreementBook()
    in_force = book.in_force(entry.submitted_at)
    if in_force is None:
        return [Finding(FlagKind.NO_AGREEMENT, "No agreement was in force at submission.", "none")]
    agreement_id, version, _ = in_force
    if book.had_accepted(entry.author_id, agreement_id, entry.submitted_at):
        return []
    return [
        Finding(
            FlagKind.NO_AGREEMENT,
            f"The author had not accepted agreement version {version} when submitting.",
            version,
        )
    ]


def _plain(text: str) -> str:
    """Compatibility-normalised, case-folded, curly quotes straightened, white space collapsed."""
    text = (
        unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'").replace("\u2018", "'")
    )
    return " ".join(text.split())


@functools.lru_cache(maxsize=8)
def _ai_patterns(phrases: tuple[str, ...]) -> tuple[re.Pattern, list[tuple[str, re.Pattern]]]:
    """One pattern for any phrase (most text has none), and one per phrase to name them all."""
    each = [(p, re.compile(rf"(?<!\w){re.escape(p)}(?!\w)")) for p in phrases]
    alternatives = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)"), each


def check_ai_text(entry: Entry) -> list[Finding]:
    """Chatbot phrases, matched as whole words ("I am an AI", not "I am an airline pilot")."""
    findings = []
    any_phrase, patterns = _ai_patterns(ai_phrases())
    for name in TEXT_FIELDS:
        text = _plain(getattr(entry, name))
        if not any_phrase.search(text):
            continue
        for phrase, pattern in patterns:
            if pattern.search(text):
                findings.append(
                    Finding(FlagKind.AI_TEXT, f'{name}: "{phrase}"', f"{name}:{phrase}")
                )
    return findings


def check_personal_data(entry: Entry) -> list[Finding]:
    findings = []
    for name in TEXT_FIELDS:
        for match in find_personal_data(getattr(entry, name)):
            label = PERSONAL_DATA_LABELS[match.kind]
            findings.append(
                Finding(
                    FlagKind.PERSONAL_DATA,
                    f'{name}: {label} "{match.text}"',
                    f"{name}:{match.kind}:{match.text}",
                )
            )
    return findings


LICENSING_KINDS = (
    FlagKind.SOURCE_NOT_ALLOWED,
    FlagKind.NO_AGREEMENT,
    FlagKind.AI_TEXT,
    FlagKind.PERSONAL_DATA,
)


def licensing_findings(entry: Entry, book: AgreementBook | None = None) -> list[Finding]:
    """Every licensing and provenance finding on the entry (pass a book when checking many)."""
    return [
        *check_source(entry),
        *check_agreement(entry, book),
        *check_ai_text(entry),
        *check_personal_data(entry),
    ]
