"""A word-level diff of two texts, as segments a template can render (no HTML built here)."""

import difflib
import re
from dataclasses import dataclass

# Words and the whitespace after them stay together, so the diff reads as prose, not characters.
_TOKENS = re.compile(r"\S+\s*|\s+")


@dataclass(frozen=True)
class Segment:
    op: str  # "same", "removed" or "added"
    text: str


TextDiff = list[Segment]


def text_diff(old: str, new: str) -> TextDiff:
    before, after = _TOKENS.findall(old), _TOKENS.findall(new)
    segments: TextDiff = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            segments.append(Segment("same", "".join(before[i1:i2])))
            continue
        if i2 > i1:
            segments.append(Segment("removed", "".join(before[i1:i2])))
        if j2 > j1:
            segments.append(Segment("added", "".join(after[j1:j2])))
    return segments


def words_changed(old: str, new: str) -> int:
    """How many words a change touches: for each changed stretch, the larger of the words taken
    out and the words put in (a typo fixed is 1, a sentence of 8 words added is 8)."""
    before, after = _TOKENS.findall(old), _TOKENS.findall(new)
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    return sum(
        max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"
    )
