"""import_dolly's source and its bad lines: a source name or URL the dataset card could not quote
safely is refused before anything is imported, and a line nested too deeply for Python's JSON
reader is one bad line among the others."""

import json

import pytest
from django.core.management import CommandError, call_command

from annotation.models import Entry, Source

pytestmark = pytest.mark.django_db


def write_jsonl(tmp_path, lines) -> str:
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def record(instruction: str) -> str:
    return json.dumps(
        {"instruction": instruction, "context": "", "response": "An answer.", "category": "open_qa"}
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--source", "<script>alert(1)</script>"], "one line of letters"),
        (["--source", "dolly\n---\nlicense: mit"], "one line of letters"),
        (["--source", "d" * 101], "100 characters"),
        (["--url", "javascript:alert(1)"], "http:// or https://"),
        (["--url", "https://evil.example\\.huggingface.co/datasets/x"], "has no place in one"),
        (["--url", "https://huggingface.co@evil.example/"], "user name or password"),
    ],
)
def test_a_source_the_card_could_not_quote_safely_is_refused_at_import(tmp_path, options, message):
    path = write_jsonl(tmp_path, [record("Which planet is largest?")])
    with pytest.raises(CommandError, match=message):
        call_command("import_dolly", path, *options)
    assert not Source.objects.exists() and not Entry.objects.exists()


def test_the_source_url_is_stored_normalised(tmp_path):
    path = write_jsonl(tmp_path, [record("Which planet is largest?")])
    url = "HTTPS://HuggingFace.co:443/datasets/databricks/databricks-dolly-15k"
    call_command("import_dolly", path, "--source", "databricks-dolly-15k", "--url", url)
    source = Source.objects.get()
    assert source.url == "https://huggingface.co/datasets/databricks/databricks-dolly-15k"


def test_a_line_nested_100000_deep_is_a_bad_line_and_the_rest_is_imported(tmp_path, capsys):
    path = write_jsonl(
        tmp_path,
        [
            record("Which planet is largest?"),
            "[" * 100_000 + "]" * 100_000,
            '{"instruction": ' * 100_000 + '"x"' + "}" * 100_000,
            record("Which ocean is largest?"),
        ],
    )
    call_command("import_dolly", path, "--batch-size", "1")
    out, err = capsys.readouterr()
    assert "2 imported, 0 already there, 2 skipped for errors" in out
    assert "line 2: not a Dolly record (JSON nested too deeply) (skipped)" in err
    assert "line 3: not a Dolly record (JSON nested too deeply) (skipped)" in err
    assert set(Entry.objects.values_list("instruction", flat=True)) == {
        "Which planet is largest?",
        "Which ocean is largest?",
    }
