import io

import pytest
from django.core.management import CommandError, call_command

from annotation import services as annotation
from annotation.models import EntryStatus
from exports.models import Snapshot
from tests.factories import EntryFactory, UserFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("export_snapshot", *args, stdout=out)
    return out.getvalue()


def test_the_command_builds_a_snapshot_and_prints_where_it_is(snapshot_storage):
    writer = UserFactory(username="writer")
    annotation.agreement_accept(user=writer)
    EntryFactory(author=writer, status=EntryStatus.ACCEPTED)
    output = run("--validation-percent", "10", "--category", "open_qa", "--request-key", "cli")
    snapshot = Snapshot.objects.get()
    assert str(snapshot_storage / "v0001") in output.splitlines()
    assert "Snapshot v1: 1 record, data.jsonl" in output
    assert "Grouping duplicates" in output and "Writing 1 of 1 records" in output
    assert (snapshot_storage / "v0001" / "validation.jsonl").exists()
    assert snapshot.options["categories"] == ["open_qa"] and snapshot.origin == "command"
    # The same key again builds nothing new.
    again = run("--validation-percent", "10", "--category", "open_qa", "--request-key", "cli")
    assert "Snapshot v1 was asked for with this key." in again
    assert Snapshot.objects.count() == 1


def test_the_command_explains_bad_options():
    with pytest.raises(CommandError, match="Unknown categories: poetry"):
        run("--category", "poetry")
    with pytest.raises(CommandError, match="min_approvals"):
        run("--min-approvals", "-1")
    assert not Snapshot.objects.exists()


def test_the_same_key_with_other_options_is_refused(snapshot_storage):
    run("--request-key", "cli", "--skip-rescan")
    with pytest.raises(CommandError, match="other options"):
        run("--request-key", "cli", "--min-approvals", "2")
