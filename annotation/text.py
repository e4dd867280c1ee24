"""Text normalisation and the rules an entry must meet to be submitted.

Kept apart from the services so the form, the API and (later) importers apply exactly the same
rules and report them with the same field names.
"""

import functools
import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher

from django.conf import settings
from django.core.exceptions import ValidationError

from annotation.diff import words_changed
from annotation.models import MAX_URL_CHARS, Category, ContextPolicy
from annotation.sources import source_url_error, url_normalize_or_keep

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


# Wikipedia's citation and note markers, as they come along when a passage is copied: [12], [a],
# [note 3], [citation needed], [clarification needed], [when?]. databricks-dolly-15k shipped them
# in about 2,100 passages and 187 responses and had to clean them after release.
CITATION_MARKER = re.compile(
    r"\[(?:\d{1,3}|[a-z]|(?:note|nb|n) ?\d{1,3}|[a-z][a-z ]{0,30} needed"
    r"|when\?|who\?|which\?|by whom\?|according to whom\?|dubious|failed verification)\]",
    re.IGNORECASE,
)


def citation_markers(text: str) -> list[str]:
    """The citation markers in `text`, each once, in order ("[12]", "[citation needed]", …)."""
    return list(dict.fromkeys(CITATION_MARKER.findall(text)))


def without_citation_markers(text: str) -> str:
    return CITATION_MARKER.sub("", text)


@functools.lru_cache(maxsize=8)
def comparable(text: str) -> str:
    """What "the same text" means when two texts are compared: NFKC, case-folded, white space
    collapsed, so that a re-typed copy differing only in case or spacing is the same. The last
    few are kept: an entry's checks ask it of the same fields several times."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    if folded.isascii() and _single_spaced(folded):
        return folded  # as split and joined again
    return " ".join(folded.split())


def _single_spaced(ascii_text: str) -> bool:
    """Whether " ".join(ascii_text.split()) is ascii_text: no white space but single spaces
    between words. Asked first because most text is so, and a few searches for one character
    (memchr) cost a sixth of splitting a text into words and joining them, which was a sixth
    of a full rescan's work."""
    return not (
        "  " in ascii_text
        or ascii_text.startswith(" ")
        or ascii_text.endswith(" ")
        or "\n" in ascii_text
        or "\t" in ascii_text
        or "\r" in ascii_text
        # The other ASCII characters str.split() takes for white space.
        or "\x0b" in ascii_text
        or "\x0c" in ascii_text
        or "\x1c" in ascii_text
        or "\x1d" in ascii_text
        or "\x1e" in ascii_text
        or "\x1f" in ascii_text
    )


def normalize_fields(values: dict[str, str]) -> dict[str, str]:
    """Every save's clean-up. A passage also loses its citation markers: they are Wikipedia's
    footnotes, not part of the text, and the writer sees them go (the page shows the saved text)."""
    cleaned = {}
    for name, value in values.items():
        value = value or ""
        if name in TEXT_FIELDS:
            cleaned[name] = normalize_text(value)
        elif name == "source_url":
            cleaned[name] = url_normalize_or_keep(value)
        else:
            cleaned[name] = value.strip()
    if "context" in cleaned:
        cleaned["context"] = without_citation_markers(cleaned["context"])
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


# A response this close to the whole passage (difflib's ratio over their words) is the passage.
PASSAGE_COPY_RATIO = 0.9


def response_defects(values: dict[str, str]) -> dict[str, str]:
    """The defects Databricks had to repair in databricks-dolly-15k after its release, by name:
    a response that repeats the instruction, a response that is (nearly) the whole passage, and
    Wikipedia citation markers in the response. Empty when there are none."""
    instruction = comparable(values.get("instruction", ""))
    response = comparable(values.get("response", ""))
    raw_context = values.get("context", "")
    defects = {}
    if response and response == instruction:
        defects["repeats_instruction"] = "The response repeats the instruction; answer it instead."
    # Normalising a long passage costs more than the rest of the checks: only a response with
    # at least half the passage's words (as typed) can have 90% of them once both are normalised.
    # (A comparable text's words are its spaces and one: it has single spaces only.)
    if response and raw_context and (response.count(" ") + 1) * 2 >= len(raw_context.split()):
        words, passage = response.split(), comparable(raw_context).split()
        # Only a response about as long as the passage can be it (and the ratio is costly:
        # quick_ratio, its upper bound in linear time, rules most out first).
        if passage and len(words) >= PASSAGE_COPY_RATIO * len(passage):
            matcher = SequenceMatcher(None, words, passage, autojunk=False)
            if (
                matcher.quick_ratio() >= PASSAGE_COPY_RATIO
                and matcher.ratio() >= PASSAGE_COPY_RATIO
            ):
                defects["copies_passage"] = (
                    "The response is the reference passage itself; answer from it in your own "
                    "words."
                )
    markers = citation_markers(values.get("response", ""))
    if markers:
        defects["citation_markers"] = (
            f"Take out the citation markers ({', '.join(markers)}): "
            "they are the source's footnotes, not part of the answer."
        )
    return defects


def validate_submission(
    *,
    category: Category,
    values: dict[str, str],
    require_source: bool = True,
    check_defects: bool = True,
) -> None:
    """The rules for submitting, on already-normalised values; raises a ValidationError per field.

    `check_defects` refuses a response with one of the `response_defects`. The importer turns it
    off: an imported corpus keeps its text as published.
    """
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
    if check_defects and "response" not in errors:
        for message in response_defects(values).values():
            add("response", message)

    if errors:
        raise ValidationError(errors)


# A reviewer's fix corrects what the author wrote; it does not replace it. Up to this many words
# of a field may always change (a short response keeps its typo fix), beyond that at most
# FLOCK_FIX_MAX_SHARE of the field's words.
FIX_ALWAYS_WORDS = 5


def fix_errors(*, before: dict[str, str], after: dict[str, str]) -> dict[str, str]:
    """The fields where a reviewer's fix rewrites rather than corrects, each with why.

    The author's words are what the contributor agreement releases; a rewrite by someone else
    would make the record theirs, so it is a rejection with a reason, not a fix.
    """
    errors = {}
    for name, new in after.items():
        old = before.get(name, "")
        words = len(old.split())
        allowed = max(FIX_ALWAYS_WORDS, int(words * settings.FLOCK_FIX_MAX_SHARE))
        changed = words_changed(old, new)
        if changed > allowed:
            errors[name] = (
                f"A fix corrects the author's text; this one changes {changed:,} words of a "
                f"{name} of {words:,} (at most {allowed:,} here). To ask for a rewrite, reject "
                "the entry with a reason instead."
            )
    return errors
