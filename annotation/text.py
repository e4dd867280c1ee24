"""Text normalisation and the rules an entry must meet to be submitted.

Kept apart from the services so the form, the API and (later) importers apply exactly the same
rules and report them with the same field names.
"""

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

from annotation.models import MAX_URL_CHARS, Category, ContextPolicy

TEXT_FIELDS = ("instruction", "context", "response")
ENTRY_FIELDS = (*TEXT_FIELDS, "source_url")

# Control characters other than tab and newline: invisible, and they break JSONL consumers.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

# A draft may be longer than a submission allows (the writer trims later), but not unbounded.
DRAFT_HARD_LIMIT = 200_000


def normalize_text(value: str) -> str:
    """NFC, Unix newlines, no control characters. Leading/trailing space is the writer's to keep."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _CONTROL.sub("", value)
    return unicodedata.normalize("NFC", value)


def normalize_fields(values: dict[str, str]) -> dict[str, str]:
    cleaned = {}
    for name, value in values.items():
        value = value or ""
        if name in TEXT_FIELDS:
            cleaned[name] = normalize_text(value)
        else:
            cleaned[name] = value.strip()
    return cleaned


@dataclass(frozen=True)
class Limits:
    instruction: int
    context: int
    response: int

    @classmethod
    def from_settings(cls) -> "Limits":
        return cls(
            instruction=settings.FLOCK_MAX_INSTRUCTION_CHARS,
            context=settings.FLOCK_MAX_CONTEXT_CHARS,
            response=settings.FLOCK_MAX_RESPONSE_CHARS,
        )

    def for_field(self, name: str) -> int:
        return getattr(self, name)


def source_url_error(url: str) -> str | None:
    """Why a reference URL is not acceptable, or None. Hosts match an allowed domain or a subdomain."""
    if any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in url):
        return "A web address has no spaces or control characters."
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        return "Enter a valid web address."
    if parts.scheme not in ("http", "https") or not host:
        return "Enter a web address starting with http:// or https://."
    allowed = settings.FLOCK_ALLOWED_SOURCE_DOMAINS
    if not any(host == domain or host.endswith("." + domain) for domain in allowed):
        return "Reference passages must come from an allowed source: " + ", ".join(allowed) + "."
    return None


def validate_draft(values: dict[str, str]) -> None:
    """A draft may be incomplete; only absurd sizes are refused so autosave never loses work."""
    errors = {
        name: f"This is too long even for a draft ({len(value):,} characters)."
        for name, value in values.items()
        if len(value) > DRAFT_HARD_LIMIT
    }
    if len(values.get("source_url", "")) > MAX_URL_CHARS:
        errors["source_url"] = f"Keep the web address to {MAX_URL_CHARS:,} characters."
    if errors:
        raise ValidationError(errors)


def validate_submission(
    *, category: Category, values: dict[str, str], require_source: bool = True
) -> None:
    """The rules for submitting, on already-normalised values; raises a ValidationError per field."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    limits = Limits.from_settings()
    for name in ("instruction", "response"):
        if not values.get(name, "").strip():
            add(name, f"Write the {name}; it cannot be blank.")
    for name in TEXT_FIELDS:
        length = len(values.get(name, ""))
        if length > limits.for_field(name):
            add(
                name,
                f"Keep the {name} to {limits.for_field(name):,} characters (it has {length:,}).",
            )

    context = values.get("context", "").strip()
    source_url = values.get("source_url", "").strip()
    policy = category.context_policy
    if policy == ContextPolicy.REQUIRED and not context:
        add("context", f"{category.name} needs a reference passage; paste it here.")
    if policy == ContextPolicy.NONE:
        if context:
            add("context", f"{category.name} takes no reference passage; remove it.")
        if source_url:
            add("source_url", f"{category.name} takes no reference passage, so no source URL.")
    elif context and not source_url and require_source:
        add("source_url", "Give the web address the reference passage comes from.")
    elif source_url:
        problem = source_url_error(source_url)
        if problem:
            add("source_url", problem)

    if errors:
        raise ValidationError(errors)
