"""How personal data is shown wherever Flock shows it: masked.

The personal-data check (quality/checks.py) stores what it found already masked, in a flag's
evidence and in the key that identifies the finding; pages, the API and the admin show a flag's
evidence through `Flag.evidence_shown`, which masks again what was stored before that, so no
page or answer carries a card number or an address in clear. Masking is idempotent: masking a
masked value changes nothing.

- An e-mail address keeps its domain: `•••@example.com`.
- Anything else (card, phone, IBAN, national id, IP address) keeps its separators and at most its
  last 4 letters or digits, and never more than a third of them: `•••• •••• •••• 1111`,
  `•••-••-•789`.
"""

import re

MASK = "•"
# A quoted value in a personal-data finding's evidence: `response: payment card number "…"`.
_QUOTED = re.compile(r'"([^"]*)"')


def mask_value(text: str) -> str:
    """One personal-data value, masked (see the module's docstring)."""
    if "@" in text:
        _local, _, domain = text.rpartition("@")
        return f"{MASK * 3}@{domain}"
    maskable = [i for i, char in enumerate(text) if char.isalnum() or char == MASK]
    keep = min(4, len(maskable) // 3)
    hidden = set(maskable[: len(maskable) - keep])
    return "".join(MASK if i in hidden else char for i, char in enumerate(text))


def evidence_masked(evidence: str) -> str:
    """A personal-data finding's evidence with every quoted value masked."""
    return _QUOTED.sub(lambda m: f'"{mask_value(m.group(1))}"', evidence)
