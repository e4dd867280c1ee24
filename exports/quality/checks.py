"""Licensing and provenance checks on one entry. Each returns findings; nothing is written here.

Policy, in one place: every finding below blocks export until a moderator dismisses it, because
each one would make the released data unsafe to publish under CC-BY-SA 3.0 (text we have no right
to, an unattributable passage, somebody's personal data, a chatbot's words).
"""

import re
import unicodedata
from dataclasses import dataclass

from annotation.models import AgreementAcceptance, ContributorAgreement, Entry, FlagKind
from annotation.text import TEXT_FIELDS, source_url_error
from exports.quality.ai_phrases import ai_phrases
from exports.quality.personal_data import find_personal_data

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


def check_agreement(entry: Entry) -> list[Finding]:
    """The author had accepted the agreement version in force when they submitted."""
    if entry.submitted_at is None or entry.author_id is None:
        return []
    in_force = (
        ContributorAgreement.objects.filter(published_at__lte=entry.submitted_at)
        .order_by("-published_at")
        .first()
    )
    if in_force is None:
        return [Finding(FlagKind.NO_AGREEMENT, "No agreement was in force at submission.", "none")]
    accepted = AgreementAcceptance.objects.filter(
        user_id=entry.author_id, agreement=in_force, accepted_at__lte=entry.submitted_at
    ).exists()
    if accepted:
        return []
    return [
        Finding(
            FlagKind.NO_AGREEMENT,
            f"The author had not accepted agreement version {in_force.version} when submitting.",
            in_force.version,
        )
    ]


def _plain(text: str) -> str:
    """Compatibility-normalised, case-folded, curly quotes straightened, white space collapsed."""
    text = (
        unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'").replace("\u2018", "'")
    )
    return " ".join(text.split())


def check_ai_text(entry: Entry) -> list[Finding]:
    """Chatbot phrases, matched as whole words ("I am an AI", not "I am an airline pilot")."""
    findings = []
    patterns = [(p, re.compile(rf"(?<!\w){re.escape(p)}(?!\w)")) for p in ai_phrases()]
    for name in TEXT_FIELDS:
        text = _plain(getattr(entry, name))
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


LICENSING_CHECKS = (check_source, check_agreement, check_ai_text, check_personal_data)


def licensing_findings(entry: Entry) -> list[Finding]:
    return [finding for check in LICENSING_CHECKS for finding in check(entry)]
