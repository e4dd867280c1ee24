"""The dataset card quotes names, URLs and settings it did not write safely: front matter that
parses as YAML with its keys, Markdown with no HTML, no javascript: link, and credit to an
allowed source only for a URL that is one by annotation.sources' rule."""

import pytest
import yaml
from markdown_it import MarkdownIt

from annotation import services as annotation
from annotation.models import Decision, Entry, EntryStatus, Source
from exports import dolly, services
from tests.factories import EntryFactory, UserFactory, category

pytestmark = pytest.mark.django_db

HOSTILE_NAME = "<script>alert(1)</script>\n---\nlicense: mit\n---\n# Owned [x](javascript:alert(2))"
AUDIT_URL = "https://evil.example\\.wikipedia.org/wiki/Paris"


def build_card(snapshot_storage) -> tuple[str, int]:
    snapshot, _ = services.snapshot_request(user=None, options={}, start=False)
    snapshot = services.snapshot_build(snapshot_id=snapshot.pk, rescan=False)
    card = (snapshot_storage / snapshot.directory / "README.md").read_text(encoding="utf-8")
    return card, snapshot.version


def front_matter(card: str) -> dict:
    lines = card.split("\n")
    assert lines[0] == "---"
    end = lines.index("---", 1)
    return yaml.safe_load("\n".join(lines[1:end]))


def test_a_card_from_hostile_stored_values_is_safe(snapshot_storage, settings):
    # As an old database may hold them: written straight to the tables, never validated.
    settings.FLOCK_DATASET_NAME = 'Acme "data"\n---\nlicense: mit'
    settings.FLOCK_COMPANY_NAME = "Acme <img src=x onerror=alert(3)>"
    source = Source.objects.create(
        name=HOSTILE_NAME, license="cc-by-sa-3.0\n<b>x</b>", url="javascript:alert(document.cookie)"
    )
    EntryFactory(author=None, source=source, status=EntryStatus.ACCEPTED)
    writer = UserFactory(username="writer")
    annotation.agreement_accept(user=writer)
    for url in [AUDIT_URL, "https://en.wikipedia.org/wiki/Paris"]:
        entry = EntryFactory(
            author=writer,
            status=EntryStatus.ACCEPTED,
            category=category("closed_qa"),
            context="Paris is the capital and largest city of France.",
            source_url=url,
        )
        Decision.objects.create(entry=entry, round=1, outcome="accepted", approvals=2)
    assert Entry.objects.count() == 3

    card, version = build_card(snapshot_storage)

    front = front_matter(card)
    assert set(front) == {
        "license",
        "language",
        "task_categories",
        "size_categories",
        "pretty_name",
        "configs",
    }
    assert front["license"] == "cc-by-sa-3.0"
    assert front["pretty_name"] == f'Acme "data"\n---\nlicense: mit v{version}'
    assert front["language"] == ["en"] and front["size_categories"] == ["n<1K"]
    assert card.split("\n").count("---") == 2

    assert "<script" not in card and "<img" not in card and "<b>" not in card
    assert "document.cookie" not in card  # the source's javascript: URL is left out
    body = card.split("\n---\n", 1)[1]
    html = MarkdownIt("commonmark").render(body)
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert 'href="javascript' not in html.lower()
    (line,) = [line for line in html.split("\n") if "1 record comes from" in line]
    assert line == (
        "<li>1 record comes from &lt;script&gt;alert(1)&lt;/script&gt; --- license: mit --- "
        "# Owned [x](javascript:alert(2)), licensed cc-by-sa-3.0 &lt;b&gt;x&lt;/b&gt;.</li>"
    )  # text, not a link, heading or rule
    assert "<h1>Owned" not in html and "<hr" not in html

    # Only the URL that is a web address by the rule is credited to Wikipedia.
    assert "1 reference passage comes from Wikipedia" in card
    assert "1 reference passage comes from a source URL that is not a valid web address" in card


def test_a_source_url_in_the_card_is_a_normalised_autolink(snapshot_storage):
    source = Source.objects.create(
        name="Acme corpus", license="cc-by-sa-3.0", url="HTTPS://Example.ORG/a_(b) c"
    )
    EntryFactory(author=None, source=source, status=EntryStatus.ACCEPTED)
    other = Source.objects.create(
        name="Other", license="cc-by-sa-3.0", url="https://example.org/wiki/Paris_(city)"
    )
    EntryFactory(author=None, source=other, status=EntryStatus.ACCEPTED)
    card, _ = build_card(snapshot_storage)
    assert "1 record comes from Acme corpus, licensed cc-by-sa-3.0." in card  # not a URL: left out
    assert (
        "1 record comes from Other (<https://example.org/wiki/Paris_(city)>), licensed cc-by-sa-3.0."
        in card
    )


def test_markdown_text_and_yaml_strings():
    assert dolly.markdown_text("a\n---\n# b <i>*c*</i> [d](e) `f` $g$ | h &lt;") == (
        "a --- # b &lt;i&gt;\\*c\\*&lt;/i&gt; \\[d\\](e) \\`f\\` \\$g\\$ \\| h &amp;lt;"
    )
    assert dolly.markdown_text("zero\u200bwidth\u2028line") == "zero width line"
    for value in ["plain", 'quote " and \\', "line\nbreak\u2028\x85\x7f", "---", "é ü 日本"]:
        quoted = dolly.yaml_string(value)
        assert quoted.isascii() and "\n" not in quoted
        assert yaml.safe_load(f"key: {quoted}") == {"key": value}
