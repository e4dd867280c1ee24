import itertools
import sys
import unicodedata

import pytest
from django.core.exceptions import ValidationError

from annotation.text import comparable, normalize_text, source_url_error, validate_submission
from tests.factories import category


def test_normalize_text_makes_nfc_unix_newlines_and_drops_control_characters():
    decomposed = "Cafe\u0301\r\nline two\rline three\x00\x07\x1b\u200b\tend"
    assert normalize_text(decomposed) == "Caf\u00e9\nline two\nline three\u200b\tend"


def test_comparable_text_is_folded_and_single_spaced_wherever_the_white_space_was():
    """comparable takes a short cut for ASCII text already single spaced: every white space
    character str.split() knows, at the start, between words and at the end, in ASCII text and
    in other text, gives what splitting and joining again gives."""
    spaces = [chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace()]
    assert "\x1f" in spaces and "\u3000" in spaces
    for before, between, after in itertools.product(["", *spaces], repeat=3):
        for word in ("Word", "Wörd", "ﬁle"):
            text = f"{before}{word}{between}TWO{after}"
            wanted = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
            assert comparable(text) == wanted, repr(text)
    assert comparable("Two  spaces") == comparable("two spaces") == "two spaces"
    assert comparable("") == ""


@pytest.mark.parametrize(
    "url",
    [
        "https://en.wikipedia.org/wiki/Hubble_Space_Telescope",
        "http://de.m.wikipedia.org/wiki/Paris",
        "https://wikipedia.org/wiki/Paris",
        "https://EN.WIKIPEDIA.ORG./wiki/Paris",
    ],
)
def test_source_url_on_the_allow_list(url):
    assert source_url_error(url) is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://en.wikipedia.org/wiki/Paris", "http"),
        ("en.wikipedia.org/wiki/Paris", "http"),
        ("https://wikipedia.org.evil.example/wiki/Paris", "allowed source"),
        ("https://notwikipedia.org/wiki/Paris", "allowed source"),
        ("https://example.com/?u=https://en.wikipedia.org", "allowed source"),
        ("javascript:alert(1)", "http"),
        ("https://[bad/wiki", "valid"),
    ],
)
def test_source_url_refused_with_a_reason(url, reason):
    assert reason in source_url_error(url)


def test_allow_list_is_a_setting(settings):
    settings.FLOCK_ALLOWED_SOURCE_DOMAINS = ["intranet.example.com"]
    assert source_url_error("https://docs.intranet.example.com/page") is None
    assert source_url_error("https://en.wikipedia.org/wiki/Paris") is not None


def _errors(slug, **values):
    with pytest.raises(ValidationError) as caught:
        validate_submission(category=category(slug), values=values)
    return caught.value.message_dict


@pytest.mark.django_db
def test_instruction_and_response_must_not_be_blank_after_trimming():
    errors = _errors("open_qa", instruction=" \n\t ", response="")
    assert set(errors) == {"instruction", "response"}


@pytest.mark.django_db
def test_length_limits_come_from_settings(settings):
    settings.FLOCK_MAX_RESPONSE_CHARS = 10
    errors = _errors("open_qa", instruction="Why?", response="x" * 11)
    assert errors == {"response": ["Keep the response to 10 characters (it has 11)."]}
    validate_submission(
        category=category("open_qa"), values={"instruction": "Why?", "response": "x" * 10}
    )


@pytest.mark.django_db
def test_default_limits_are_4000_25000_12000():
    ok = {"instruction": "i" * 4000, "response": "r" * 12000}
    validate_submission(category=category("open_qa"), values=ok)
    errors = _errors(
        "closed_qa",
        instruction="i" * 4001,
        context="c" * 25001,
        response="r" * 12001,
        source_url="https://en.wikipedia.org/wiki/X",
    )
    assert set(errors) == {"instruction", "context", "response"}


@pytest.mark.django_db
def test_required_context_must_be_present_with_a_source():
    assert "context" in _errors("closed_qa", instruction="Q?", response="A.")
    errors = _errors("summarization", instruction="Sum up.", context="Passage.", response="Short.")
    assert list(errors) == ["source_url"]


@pytest.mark.django_db
def test_context_is_refused_where_the_category_takes_none():
    errors = _errors(
        "brainstorming",
        instruction="Ideas?",
        response="- one",
        context="A passage.",
        source_url="https://en.wikipedia.org/wiki/X",
    )
    assert set(errors) == {"context", "source_url"}


@pytest.mark.django_db
def test_optional_context_needs_an_allowed_source_only_when_given():
    validate_submission(
        category=category("classification"), values={"instruction": "Sort.", "response": "A: x"}
    )
    errors = _errors(
        "classification",
        instruction="Sort.",
        response="A: x",
        context="Items.",
        source_url="https://blog.example.com/items",
    )
    assert "allowed source" in errors["source_url"][0]


@pytest.mark.parametrize(
    "url",
    [
        "https://en.wikipedia.org/wiki/A\x1fB",
        "https://en.wikipedia.org/wiki/A B",
        "https://en.wikipedia.org/wiki/A\nB",
    ],
)
def test_a_source_url_with_spaces_or_control_characters_is_refused(url):
    assert source_url_error(url) == "A web address has no spaces or control characters."


# --- The defects databricks-dolly-15k had to repair after release ----------------------------

PASSAGE = (
    "Mount Kilimanjaro is a dormant volcano in Tanzania. It has three volcanic cones: Kibo, "
    "Mawenzi and Shira. It is the highest mountain in Africa, about 5,895 metres above sea level."
)
SOURCE = "https://en.wikipedia.org/wiki/Mount_Kilimanjaro"


@pytest.mark.django_db
def test_a_response_that_repeats_the_instruction_is_refused_even_retyped():
    errors = _errors(
        "open_qa", instruction="Why is the sky blue?", response="  why is the SKY   blue? "
    )
    assert "repeats the instruction" in " ".join(errors["response"])


@pytest.mark.django_db
def test_a_response_that_is_the_passage_is_refused_even_with_a_word_changed():
    for response in (PASSAGE, PASSAGE.replace("dormant", "sleeping"), PASSAGE.upper()):
        errors = _errors(
            "summarization",
            instruction="Summarise the passage.",
            context=PASSAGE,
            source_url=SOURCE,
            response=response,
        )
        assert "is the reference passage itself" in " ".join(errors["response"])


@pytest.mark.django_db
def test_an_answer_quoting_part_of_the_passage_is_fine():
    validate_submission(
        category=category("closed_qa"),
        values={
            "instruction": "What are Kilimanjaro's cones called?",
            "context": PASSAGE,
            "source_url": SOURCE,
            "response": "It has three volcanic cones: Kibo, Mawenzi and Shira.",
        },
    )
    validate_submission(
        category=category("open_qa"),
        values={"instruction": "Is 7 a prime?", "response": "Yes: 7 is a prime."},
    )


@pytest.mark.django_db
def test_citation_markers_in_a_response_are_refused_with_the_markers_named():
    errors = _errors(
        "open_qa",
        instruction="How tall is Kilimanjaro?",
        response="About 5,895 metres.[12] It is in Tanzania.[a][citation needed]",
    )
    message = " ".join(errors["response"])
    assert "[12], [a], [citation needed]" in message


@pytest.mark.parametrize(
    ("passage", "saved"),
    [
        (
            "It opened in 1990.[1][2] It is 12 m long.[note 3]",
            "It opened in 1990. It is 12 m long.",
        ),
        ("Kibo[a] is the tallest.[citation needed]", "Kibo is the tallest."),
        ("The peak[clarification needed] is Uhuru.[when?]", "The peak is Uhuru."),
        # Brackets that are text, not footnotes, stay.
        ("Read [the list] or see [1990–2000], [ab] and [1234].", None),
    ],
)
def test_a_passage_loses_its_citation_markers_when_saved(passage, saved):
    from annotation.text import normalize_fields

    assert normalize_fields({"context": passage})["context"] == (saved or passage)
    # The instruction and the response keep what the writer typed: markers there are refused.
    assert normalize_fields({"response": passage})["response"] == passage
