"""annotation.sources: a source URL is taken only in the form browsers and urllib read alike, and
stored normalised; an imported corpus's name is one ordinary line."""

from urllib.parse import urlsplit

import pytest

from annotation.sources import (
    NOT_A_WEB_ADDRESS,
    SourceURLError,
    passage_credit,
    source_name_error,
    source_url_error,
    url_normalize,
)

# The audit's URL: a browser treats the backslash as a slash and goes to evil.example; urllib read
# the host as "evil.example\.wikipedia.org", under wikipedia.org.
AUDIT_URL = "https://evil.example\\.wikipedia.org/wiki/Paris"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (AUDIT_URL, "“\\” has no place"),
        ("https://en.wikipedia.org\\@evil.example/", "“\\” has no place"),
        ("https://en.wikipedia.org@evil.example/wiki/Paris", "user name or password"),
        ("https://user:pw@en.wikipedia.org/wiki/Paris", "user name or password"),
        ("https://evil.example%2ewikipedia.org/wiki/Paris", "not a domain name"),
        ("https://en.wikipedia.org%2f.evil.example/", "not a domain name"),
        ("https://en.wikipedia.org/wiki/%2e%2e/%2E%2e/x", "“..”"),
        ("https://en.wikipedia.org/wiki/../x", "“..”"),
        ("https://en.wiki\tpedia.org/wiki/Paris", "no spaces or control characters"),
        ("https://evil.example\n.wikipedia.org/", "no spaces or control characters"),
        ("https://en.wikipedia.org/wiki/A\u202eB", "invisible"),
        ("https://en.wikipedia.org\u200b.evil.example/", "invisible"),
        ("https:evil.example/.wikipedia.org", "http:// or https://"),
        ("https:///evil.example/.wikipedia.org", "http:// or https://"),
        ("javascript://en.wikipedia.org/%0aalert(1)", "http:// or https://"),
        ("https://[::1]/.wikipedia.org", "“[” has no place"),
        ("https://127.0.0.1/wiki/Paris", "not a domain name"),
        ("https://0x7f.1/wiki/Paris", "not a domain name"),
        ("https://wikipedia/wiki/Paris", "not a domain name"),
        ("https://en_wiki.wikipedia.org/", "not a domain name"),
        ("https://xn--.wikipedia.org/", "not a domain name"),  # punycode that does not decode
        ("https://ｗｉｋｉｐｅｄｉａ.org/wiki/Paris", "xn--"),  # full-width letters
        ("https://en.wikipedia.org:99999/wiki/Paris", "port"),
        ("https://en.wikipedia.org/wiki/100%", "two hex digits"),
        ("https://en.wikipedia.org/wiki/<script>", "“<” has no place"),
    ],
)
def test_a_url_browsers_and_urllib_could_read_apart_is_refused_with_a_reason(url, reason):
    with pytest.raises(SourceURLError) as refused:
        url_normalize(url)
    assert reason in str(refused.value)
    assert reason in source_url_error(url)
    assert passage_credit(url) == NOT_A_WEB_ADDRESS  # never credited to an allowed source


@pytest.mark.parametrize(
    ("url", "stored"),
    [
        ("https://en.wikipedia.org/wiki/Paris", "https://en.wikipedia.org/wiki/Paris"),
        ("HTTPS://EN.WIKIPEDIA.ORG./wiki/Paris", "https://en.wikipedia.org/wiki/Paris"),
        ("https://en.wikipedia.org:443/wiki/Paris", "https://en.wikipedia.org/wiki/Paris"),
        ("http://en.wikipedia.org:80", "http://en.wikipedia.org/"),
        ("https://en.wikipedia.org:8443/wiki/X", "https://en.wikipedia.org:8443/wiki/X"),
        ("  https://en.wikipedia.org/wiki/Paris\n", "https://en.wikipedia.org/wiki/Paris"),
        (
            "https://en.wikipedia.org/wiki/Paris_(mythology)#In_art",
            "https://en.wikipedia.org/wiki/Paris_(mythology)#In_art",
        ),
        (
            "https://de.wikipedia.org/wiki/München?oldid=1%2f#Geschichte_ä",
            "https://de.wikipedia.org/wiki/M%C3%BCnchen?oldid=1%2F#Geschichte_%C3%A4",
        ),
        (
            "https://xn--bcher-kva.wikipedia.org/wiki/X",
            "https://xn--bcher-kva.wikipedia.org/wiki/X",
        ),
    ],
)
def test_an_accepted_url_is_stored_normalised_and_urllib_reads_the_same_host(url, stored):
    assert url_normalize(url) == stored
    assert url_normalize(stored) == stored
    assert source_url_error(url) is None
    assert urlsplit(stored).hostname == stored.split("/")[2].split(":")[0]
    assert passage_credit(url) == "wikipedia.org"


def test_a_homograph_in_punycode_is_its_own_host_not_the_allowed_one():
    # "wikipedіa.org" with a Cyrillic і, as a browser sends it.
    homograph = "https://xn--wikipeda-zhh.org/wiki/Paris"
    assert "wikiped\u0456a.org".encode("idna") == b"xn--wikipeda-zhh.org"
    assert url_normalize(homograph) == homograph
    assert "allowed source" in source_url_error(homograph)
    assert passage_credit(homograph) == "xn--wikipeda-zhh.org"


def test_the_allow_list_matches_whole_labels_of_the_normalised_host(settings):
    settings.FLOCK_ALLOWED_SOURCE_DOMAINS = ["intranet.example.com"]
    assert source_url_error("https://Docs.Intranet.Example.com./page") is None
    assert "allowed source" in source_url_error("https://evilintranet.example.com/page")
    assert "allowed source" in source_url_error("https://intranet.example.com.evil.example/")
    assert passage_credit("https://en.wikipedia.org/wiki/Paris") == "en.wikipedia.org"
    assert passage_credit("") == "no source URL"


@pytest.mark.parametrize(
    "name",
    ["databricks-dolly-15k", "OpenAssistant/oasst1", "Acme Q&A (2024)", "Société Générale FAQ"],
)
def test_an_ordinary_source_name_is_taken(name):
    assert source_name_error(name) is None


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "Give the source a name"),
        ("   ", "Give the source a name"),
        ("x" * 101, "100 characters"),
        ("<script>alert(1)</script>", "one line of letters"),
        ("dolly\n---\nlicense: mit", "one line of letters"),
        ("dolly\u2028two", "one line of letters"),
        (" dolly", "one line of letters"),
        ("dolly  15k", "one line of letters"),
        ("-dolly", "one line of letters"),
        ("[dolly](javascript:alert(1))", "one line of letters"),
        ("dolly `code`", "one line of letters"),
    ],
)
def test_a_source_name_that_is_not_one_ordinary_line_is_refused(name, reason):
    assert reason in source_name_error(name)


@pytest.mark.django_db
def test_the_admin_holds_a_source_to_the_same_rules(client):
    from annotation.models import Source
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    source = Source.objects.create(name="dolly", license="cc-by-sa-3.0")
    change = f"/admin/annotation/source/{source.pk}/change/"
    hostile = {"name": "<script>x</script>", "url": "javascript:alert(1)"}
    page = client.post(change, hostile).content.decode()
    assert "one line of letters" in page and "http:// or https://" in page
    source.refresh_from_db()
    assert (source.name, source.url) == ("dolly", "")

    client.post(change, {"name": "dolly 15k", "url": "HTTPS://HuggingFace.co/datasets/x"})
    source.refresh_from_db()
    assert (source.name, source.url) == ("dolly 15k", "https://huggingface.co/datasets/x")
