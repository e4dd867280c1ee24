"""Personal data in free text: e-mail addresses, phone numbers, payment cards (Luhn-checked),
national identity numbers, IBANs (mod-97 checked) and IP addresses.

Each pattern is written to keep ordinary prose quiet: dates, years, prices, version numbers and
large round figures do not match, and card numbers and IBANs must pass their check digits.
Public figures' names are not personal data here, so names are not looked for at all.
"""

import ipaddress
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Match:
    kind: str  # "email", "phone", "card", "national_id", "iban", "ip"
    text: str
    start: int


# Raise when a pattern changes: the next licensing rescan then looks at every entry again.
RULES_VERSION = 1

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
# Phone numbers in the shapes people write them: international (+44 20 7946 0958, +12025550143),
# North American (555-123-4567, (555) 123-4567) and national with a trunk 0 (07700 900123,
# 030 1234 5678). Bare runs of groups (years, room numbers, digits of pi) are not phone numbers.
PHONE = re.compile(
    r"(?<![\w+])(?:"
    r"\+\d{1,3}(?:[ .-]?\(?\d{1,8}\)?){1,6}"
    r"|\(\d{2,5}\)[ .-]?\d{2,4}(?:[ .-]?\d{2,4}){1,3}"
    r"|\d{3}[.-]\d{3}[.-]\d{4}"
    r"|0\d{2,4}[ .-]?\d{3,8}(?:[ .-]\d{2,4}){0,2}"
    r")(?![\w-])"
)
CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
SSN = re.compile(r"(?<!\d)(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?!\d)")
SSN_NAMED = re.compile(
    r"(?i:ssn|social security(?: number)?)\D{0,12}((?!000|666|9\d\d)\d{3} (?!00)\d{2} (?!0000)\d{4})\b"
)
UK_NINO = re.compile(r"\b(?![DFIQUV])[A-Z](?![DFIOQUV])[A-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b")
IBAN = re.compile(r"\b[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,4})?\b")
IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]|/\d)")
# Candidates with two or more colons; ipaddress decides (so times like 10:30:15 do not pass).
IPV6 = re.compile(r"(?<![\w:.])(?=[0-9A-Fa-f:]*:[0-9A-Fa-f]*:)[0-9A-Fa-f:]{3,39}(?![\w:/])")
# What any match of each pattern above that needs a digit contains after one of its digits,
# looked for first: Python's re tries a pattern that begins with an assertion (most of the
# above) at every position of a text, but skips to the next digit in C when a pattern begins
# with one. Each screen is that digit and its tail; ANY_SCREEN, every tail after one digit, is
# searched once per text, and a text it does not match (nearly all prose, numbers and dates
# included) costs one pass over it. Each must match wherever its pattern does:
# tests/quality/test_licensing.py checks them.
_SCREEN_TAILS = {
    # two letters just before the digits, as the account begins, then two groups of four
    IBAN: r"(?<=\b[A-Za-z]{2}\d)\d ?[A-Za-z0-9]{4} ?[A-Za-z0-9]{4}",
    CARD: r"(?:[ -]?\d){12}",
    SSN: r"\d\d-\d\d-\d\d\d\d",
    SSN_NAMED: r"\d\d \d\d \d\d\d\d",
    UK_NINO: r"\d ?\d\d ?\d\d",
    IPV4: r"\.\d{1,3}\.\d{1,3}\.\d",
    # A "+" or "(" just before the digit, a 0 opening a number and two more digits, or the
    # North American shape: one of PHONE's four shapes.
    PHONE: r"(?<=[+(]\d)|(?<=\b0)\d\d|\d\d[.-]\d\d\d[.-]\d\d\d\d",
}
SCREENS = {pattern: re.compile(rf"\d(?:{tail})") for pattern, tail in _SCREEN_TAILS.items()}
ANY_SCREEN = re.compile(r"\d(?:" + "|".join(f"(?:{t})" for t in _SCREEN_TAILS.values()) + ")")
# Words before a number that say it is something else: a book, a version, a date.
NOT_PERSONAL_BEFORE = re.compile(r"(?i:isbn(?:-1[03])?|issn|doi|version|v|release|build)\W{0,3}$")


def luhn_ok(digits: str) -> bool:
    total, double = 0, False
    for char in reversed(digits):
        n = int(char)
        if double:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
        double = not double
    return total % 10 == 0


def iban_ok(text: str) -> bool:
    compact = text.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


def _phone(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    return 9 <= len(digits) <= 15


def _ipv6(text: str, add) -> None:
    for m in IPV6.finditer(text):
        try:
            address = ipaddress.IPv6Address(m.group(0))
        except ValueError:
            continue
        # Not loopback or made of two tiny groups ("a::b", "dead::beef"): an address needs body.
        if address.is_loopback or len([g for g in m.group(0).split(":") if g]) < 3:
            continue
        add("ip", m)


def _matches(pattern: re.Pattern, text: str):
    """pattern.finditer(text), after its screen (SCREENS) says it may match at all."""
    return pattern.finditer(text) if SCREENS[pattern].search(text) else ()


def _screened(text: str) -> bool:
    """ANY_SCREEN matches somewhere in the text. An ASCII text without a digit, most text, is
    told apart first by looking for each digit (memchr, many times faster than the pattern's
    scan of every character)."""
    if text.isascii() and not _has_digit(text):
        return False
    return ANY_SCREEN.search(text) is not None


def _has_digit(text: str) -> bool:
    # Written out: a generator over the ten digits cost four times the searches themselves.
    return (
        "0" in text
        or "1" in text
        or "2" in text
        or "3" in text
        or "4" in text
        or "5" in text
        or "6" in text
        or "7" in text
        or "8" in text
        or "9" in text
    )


def find_personal_data(text: str) -> list[Match]:
    found: list[Match] = []
    taken: list[tuple[int, int]] = []

    def add(kind: str, m: re.Match, group: int = 0) -> None:
        span = m.span(group)
        if any(s < span[1] and span[0] < e for s, e in taken):
            return
        if NOT_PERSONAL_BEFORE.search(text[max(0, span[0] - 12) : span[0]]):
            return
        taken.append(span)
        found.append(Match(kind, m.group(group), span[0]))

    # Exact short cuts, since most text has none of these: an e-mail address needs an @, an
    # IPv6 address two colons, every other pattern a digit its screen accepts.
    if "@" in text:
        for m in EMAIL.finditer(text):
            add("email", m)
    screened = _screened(text)
    if screened:
        for m in _matches(IBAN, text):
            if iban_ok(m.group(0)):
                add("iban", m)
        for m in _matches(CARD, text):
            digits = re.sub(r"\D", "", m.group(0))
            if 13 <= len(digits) <= 19 and luhn_ok(digits) and len(set(digits)) > 1:
                add("card", m)
        for m in _matches(SSN, text):
            add("national_id", m)
        for m in _matches(SSN_NAMED, text):
            add("national_id", m, group=1)
        for m in _matches(UK_NINO, text):
            add("national_id", m)
        for m in _matches(IPV4, text):
            octets = m.group(0).split(".")
            if all(int(o) <= 255 and (o == "0" or not o.startswith("0")) for o in octets):
                add("ip", m)
    if text.count(":") >= 2:
        _ipv6(text, add)
    if screened:
        for m in _matches(PHONE, text):
            if _phone(m.group(0)):
                add("phone", m)
    return sorted(found, key=lambda match: match.start)
