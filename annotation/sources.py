"""What a source is: a source URL (a reference passage's, an imported corpus's) and an imported
corpus's name. One home for these rules, used by the writing form and the API (through
annotation.text), the licensing check, the importer and the dataset card.

A source URL must read the same to a browser and to this code. Browsers parse URLs by the WHATWG
URL standard, Python's urllib by RFC 3986, and they disagree on odd input:
`https://evil.example\\.wikipedia.org/` is `evil.example` to a browser (a backslash is a slash)
and `…wikipedia.org` to urllib. No WHATWG parser is among Flock's dependencies, so a URL is taken
only in the form on which both agree, and refused otherwise with a reason:

- `http://` or `https://`, then a host that is a DNS name in ASCII: letters, digits and hyphens
  in labels of at most 63 characters, at least two labels, a top-level label of letters (or an
  `xn--` one), an international name in its `xn--` form that decodes; no user name or password
  (`@`), no IP address, no percent sign; an optional port number;
- after the host, only RFC 3986's characters (letters, digits, `-._~:/?#@!$&'()*+,;=` and `%`
  followed by two hex digits), no backslash, no `[` or `]`, no whitespace or control character
  anywhere; letters outside ASCII (`/wiki/München`) are percent-encoded as UTF-8, as a browser
  does; no `.` or `..` path segment (a browser resolves them, urllib does not), `%2e` included.

An accepted URL is stored normalised: lower-case scheme and host, no trailing dot on the host, no
default port, `/` for an empty path, upper-case percent escapes. The fragment is kept: a
Wikipedia section anchor tells a reviewer where in the article the passage is, and it never
changes which host is credited.
"""

import re
import unicodedata
from dataclasses import dataclass

from django.conf import settings

from annotation.models import MAX_URL_CHARS

# Part of the licensing check's rules (quality.services.checks): a change makes the next licensing
# rescan look at every stored entry again, so URLs stored under an older rule are flagged.
URL_RULE_VERSION = 2

DEFAULT_PORTS = {"http": 80, "https": 443}

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_TOP_LABEL = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}")
# The ASCII characters a URL may hold: RFC 3986's unreserved and reserved ones but "[" and "]"
# (IP-literal hosts only), and "%". What is outside ASCII is looked at apart.
_NOT_IN_URL = re.compile(r"[^A-Za-z0-9\-._~:/?#@!$&'()*+,;=%\x80-\U0010ffff]")
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_DOT_SEGMENT = re.compile(r"(?:\.|%2e){1,2}", re.IGNORECASE)
# Unicode categories a URL never holds, even percent-encoded: separators, controls, format
# characters (bidirectional overrides, zero-width joiners), surrogates, private use, unassigned.
_INVISIBLE = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co", "Cn"})

MAX_NAME_CHARS = 100  # Source.name's max_length
# A source's name: one line of letters, digits, spaces and a little punctuation, starting with a
# letter or digit ("databricks-dolly-15k", "OpenAssistant/oasst1", "Acme Q&A (2024)").
_NAME = re.compile(r"[^\W_][\w .,:;'()&+/!?#@-]*", re.UNICODE)


class SourceURLError(ValueError):
    """Why a URL is refused, in words for the person who typed it."""


@dataclass(frozen=True)
class SourceURL:
    scheme: str
    host: str  # lower-case ASCII, international labels in their xn-- form, no trailing dot
    port: int | None  # None for the scheme's default
    rest: str  # path, query and fragment, percent-encoded

    def __str__(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.scheme}://{self.host}{port}{self.rest}"


def url_parse(url: str) -> SourceURL:
    """The URL as browsers and urllib both read it, normalised; SourceURLError when they might
    not agree or it is no web address."""
    refused = _NOT_IN_URL.search(url)
    if refused and (refused[0].isspace() or refused[0] < " " or refused[0] == "\x7f"):
        raise SourceURLError("A web address has no spaces or control characters.")
    if not url.isascii():
        if any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in url):
            raise SourceURLError("A web address has no spaces or control characters.")
        if any(unicodedata.category(ch) in _INVISIBLE for ch in url):
            raise SourceURLError("A web address has no invisible or formatting characters.")
    scheme = _SCHEME.match(url)
    if (
        not scheme
        or scheme[1].lower() not in DEFAULT_PORTS
        or not url[scheme.end() :].startswith("//")
        or url[scheme.end() + 2 : scheme.end() + 3] in ("/", "\\")
    ):
        raise SourceURLError("Enter a web address starting with http:// or https://.")
    if refused:
        raise SourceURLError(f"Enter a valid web address: “{refused[0]}” has no place in one.")
    rest = url[scheme.end() + 2 :]
    authority_end = min((i for i in map(rest.find, "/?#") if i >= 0), default=len(rest))
    authority, after = rest[:authority_end], rest[authority_end:]
    if "@" in authority:
        raise SourceURLError(
            "Give the web address without a user name or password (nothing before “@”)."
        )
    scheme_name = scheme[1].lower()
    host, _, port_text = authority.partition(":")
    return SourceURL(
        scheme=scheme_name,
        host=_host(host),
        port=_port(port_text, scheme_name),
        rest=_after_host(after),
    )


def _host(host: str) -> str:
    if not host.isascii():
        raise SourceURLError(
            "Write the web address's host name in ASCII (an international name in its xn-- form)."
        )
    host = host.lower()
    if host.endswith("."):
        host = host[:-1]
    labels = host.split(".")
    if (
        len(host) > 253
        or len(labels) < 2
        or not all(_LABEL.fullmatch(label) for label in labels)
        or not _TOP_LABEL.fullmatch(labels[-1])
        or not all(_punycode_valid(label) for label in labels if label.startswith("xn--"))
    ):
        raise SourceURLError("Enter a valid web address: its host is not a domain name.")
    return host


def _punycode_valid(label: str) -> bool:
    """An xn-- label that decodes to a name outside ASCII and encodes back to itself (browsers
    refuse the others)."""
    try:
        decoded = label[4:].encode("ascii").decode("punycode")
    except UnicodeError:
        return False
    return (
        not decoded.isascii()
        and unicodedata.is_normalized("NFC", decoded)
        and decoded.encode("punycode").decode("ascii") == label[4:]
    )


def _port(port_text: str, scheme: str) -> int | None:
    if not port_text:
        return None
    if not (port_text.isdigit() and port_text.isascii() and int(port_text) <= 65535):
        raise SourceURLError("Enter a valid web address: its port is not a number.")
    port = int(port_text)
    return None if port == DEFAULT_PORTS[scheme] else port


def _after_host(after: str) -> str:
    if _PERCENT.search(after):
        raise SourceURLError("Enter a valid web address: a “%” must be followed by two hex digits.")
    path = re.split(r"[?#]", after, maxsplit=1)[0]
    if any(_DOT_SEGMENT.fullmatch(segment) for segment in path.split("/")):
        raise SourceURLError("Give the web address without “.” or “..” parts in its path.")
    encoded = after
    if not after.isascii():
        encoded = "".join(
            ch if ch.isascii() else "".join(f"%{byte:02X}" for byte in ch.encode()) for ch in after
        )
    if "%" in encoded:
        encoded = _ESCAPE.sub(lambda escape: escape[0].upper(), encoded)
    return encoded if encoded.startswith("/") else "/" + encoded


def url_normalize(url: str) -> str:
    """The URL in its stored form; SourceURLError as url_parse."""
    return str(_parse_stored(url))


def _parse_stored(url: str) -> SourceURL:
    """url_parse of the URL as a form gives it (trimmed), within the stored length."""
    parsed = url_parse(url.strip())
    if len(str(parsed)) > MAX_URL_CHARS:
        raise SourceURLError(f"Keep the web address to {MAX_URL_CHARS:,} characters.")
    return parsed


def url_normalize_or_keep(url: str) -> str:
    """What a save stores: the normalised URL when it is one, else the text as typed (a draft
    keeps what its writer typed; the rules answer at submit)."""
    try:
        return url_normalize(url)
    except SourceURLError:
        return url.strip()


def allowed_domain(host: str) -> str | None:
    """The entry of FLOCK_ALLOWED_SOURCE_DOMAINS this (normalised) host is or is under."""
    for domain in settings.FLOCK_ALLOWED_SOURCE_DOMAINS:
        domain = domain.lower().strip(".")
        if host == domain or host.endswith("." + domain):
            return domain
    return None


def source_url_error(url: str) -> str | None:
    """Why a reference passage's URL is not acceptable, or None: it must be a web address by the
    rule above, on a host that is an allowed domain or under one."""
    try:
        parsed = _parse_stored(url)
    except SourceURLError as exc:
        return str(exc)
    if allowed_domain(parsed.host) is None:
        allowed = ", ".join(settings.FLOCK_ALLOWED_SOURCE_DOMAINS)
        return f"Reference passages must come from an allowed source: {allowed}."
    return None


# What the dataset card says of a passage whose stored URL is not a web address by the rule.
NOT_A_WEB_ADDRESS = "a source URL that is not a valid web address"


def passage_credit(url: str) -> str:
    """To whom the dataset card credits a reference passage: the allowed domain its URL is on,
    else the URL's host (which the card names but does not credit as an allowed source), else
    NOT_A_WEB_ADDRESS; "no source URL" when there is none."""
    if not url.strip():
        return "no source URL"
    try:
        host = url_parse(url.strip()).host
    except SourceURLError:
        return NOT_A_WEB_ADDRESS
    return allowed_domain(host) or host


def source_name_error(name: str) -> str | None:
    """Why an imported corpus's name is not acceptable, or None: one line of letters, digits,
    spaces and a little punctuation, at most MAX_NAME_CHARS characters."""
    if not name.strip():
        return "Give the source a name."
    if len(name) > MAX_NAME_CHARS:
        return f"Keep the source's name to {MAX_NAME_CHARS} characters (it has {len(name):,})."
    if name != name.strip() or "  " in name or not _NAME.fullmatch(name):
        return (
            "A source's name is one line of letters, digits, single spaces and the punctuation "
            "- . , : ; ' ( ) & + / ! ? # @, starting with a letter or digit."
        )
    return None
