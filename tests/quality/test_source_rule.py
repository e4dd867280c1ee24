"""The licensing check holds stored entries to the source-URL rule a submission meets: a URL kept
from before the rule (as an old database holds it) is flagged, blocks, and a change of the rule
makes the next rescan look at every entry again."""

import datetime

import pytest
from django.utils import timezone

from annotation import services as annotation
from annotation import sources
from annotation.models import EntryStatus, Flag, FlagKind
from quality import services
from quality.services.checks import _licensing_rules
from tests.factories import EntryFactory, category

pytestmark = pytest.mark.django_db

AUDIT_URL = "https://evil.example\\.wikipedia.org/wiki/Paris"


def stored(author, url):
    """An accepted entry written straight to the table, as one accepted under the old rule is."""
    return EntryFactory(
        author=author,
        status=EntryStatus.ACCEPTED,
        category=category("closed_qa"),
        context="Paris is the capital and largest city of France.",
        source_url=url,
    )


def test_a_stored_url_browsers_read_apart_is_flagged_and_blocks(alice):
    annotation.agreement_accept(user=alice)
    entry = stored(alice, AUDIT_URL)
    services.entry_check(entry=entry)
    flag = Flag.objects.get(entry=entry)
    assert flag.kind == FlagKind.SOURCE_NOT_ALLOWED and flag.blocking
    assert "has no place in one" in flag.evidence


def test_changing_the_rule_makes_the_next_rescan_look_at_every_stored_entry(alice, monkeypatch):
    annotation.agreement_accept(user=alice)
    entries = [stored(alice, AUDIT_URL), stored(alice, "https://en.wikipedia.org@evil.example/")]
    for entry in entries:  # unchanged since long before the last rescan
        type(entry).objects.filter(pk=entry.pk).update(
            updated_at=timezone.now() - datetime.timedelta(days=3)
        )
    monkeypatch.setattr(sources, "URL_RULE_VERSION", sources.URL_RULE_VERSION - 1)
    rules_before = _licensing_rules()
    monkeypatch.undo()
    services.scan_mark_save(
        name="licensing", rules=rules_before, started=timezone.now(), entries=0, full=True
    )

    report = services.licensing_rescan(workers=1)
    assert report.full and report.entries == 2 and report.flagged == 2
    assert set(Flag.objects.values_list("entry_id", "kind")) == {
        (entry.pk, FlagKind.SOURCE_NOT_ALLOWED) for entry in entries
    }
    # Under the same rule, the next rescan costs what changed: nothing.
    assert services.licensing_rescan(workers=1).entries == 0
