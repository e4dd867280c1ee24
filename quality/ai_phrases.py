"""Phrases that give away a chatbot's answer. One list, matched case-insensitively; extend it here
(or with FLOCK_EXTRA_AI_PHRASES, comma-separated, for a drive's own findings)."""

from django.conf import settings

AI_PHRASES = (
    "as an ai language model",
    "as an ai model",
    "as a large language model",
    "i am an ai",
    "i'm an ai",
    "i cannot browse",
    "i can't browse",
    "i do not have the ability to browse",
    "my knowledge cutoff",
    "my training data",
    "as of my last update",
    "certainly! here is",
    "certainly! here are",
    "certainly! here's",
    "sure! here is",
    "sure! here are",
    "sure! here's",
    "i hope this helps!",
    "regenerate response",
    "as an ai developed by",
    "i was trained by openai",
)


def ai_phrases() -> tuple[str, ...]:
    extra = tuple(p.strip().casefold() for p in settings.FLOCK_EXTRA_AI_PHRASES if p.strip())
    return AI_PHRASES + extra
