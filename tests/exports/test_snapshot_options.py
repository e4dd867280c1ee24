"""The options' defaults have one home, SnapshotOptions: asking for a snapshot without choosing
anything, from the API, the page, the command or the nightly job, gives its defaults, and
"latest" takes each such snapshot for the whole data set."""

import io
from html.parser import HTMLParser

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from annotation import services as annotation
from annotation.models import EntryStatus
from exports import selectors, services
from exports.models import Snapshot, SnapshotOrigin, SnapshotStatus
from tests.factories import EntryFactory, UserFactory

pytestmark = pytest.mark.django_db


class _Form(HTMLParser):
    """What a browser posts for the page's form as it is shown: its text and hidden inputs'
    values and its ticked boxes (an unticked box posts nothing)."""

    def __init__(self):
        super().__init__()
        self.in_form = False
        self.fields: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("method") == "post":
            self.in_form = True
        elif tag == "input" and self.in_form and attrs.get("name"):
            if attrs.get("type") == "checkbox":
                if "checked" in attrs:
                    self.fields.append((attrs["name"], attrs.get("value") or "on"))
            else:
                self.fields.append((attrs["name"], attrs.get("value") or ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False


def _as_posted(html: str) -> dict[str, list[str]]:
    form = _Form()
    form.feed(html)
    posted: dict[str, list[str]] = {}
    for name, value in form.fields:
        posted.setdefault(name, []).append(value)
    return posted


def test_asking_without_choosing_anything_gives_the_defaults_everywhere(
    client, dana, snapshot_storage
):
    writer = UserFactory(username="writer")
    annotation.agreement_accept(user=writer)
    EntryFactory(author=writer, status=EntryStatus.ACCEPTED)
    defaults = services.SnapshotOptions()
    assert services.SnapshotOptions.parse({}) == defaults
    assert services.SnapshotOptions.is_whole_data_set(defaults.as_dict())

    api = APIClient()
    _, key = annotation.api_token_create(user=dana, name="downloads")
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.post("/api/v1/snapshots/", {}, format="json").status_code == 202

    client.force_login(dana)
    form = _as_posted(client.get("/exports/").content.decode())
    assert "categories" not in form  # no category ticked: every category
    assert client.post("/exports/", form).status_code == 302

    call_command("export_snapshot", "--skip-rescan", stdout=io.StringIO())
    # Something new, or the nightly job skips the day (nothing changed since the command's).
    EntryFactory(author=writer, status=EntryStatus.ACCEPTED)
    assert not services.snapshot_nightly().skipped

    made = list(Snapshot.objects.order_by("version"))
    assert [s.origin for s in made] == [
        SnapshotOrigin.API,
        SnapshotOrigin.BROWSER,
        SnapshotOrigin.COMMAND,
        SnapshotOrigin.SCHEDULE,
    ]
    for snapshot in made:
        assert snapshot.options == defaults.as_dict(), snapshot.origin
        assert services.SnapshotOptions.parse(snapshot.options).filters == defaults.filters
    # Each of them is what "latest" serves, when it is the one ready.
    for snapshot in made:
        Snapshot.objects.update(status=SnapshotStatus.PENDING)
        Snapshot.objects.filter(pk=snapshot.pk).update(status=SnapshotStatus.READY)
        assert selectors.snapshot_latest() == snapshot, snapshot.origin
    # A subset never is.
    subset, _ = services.snapshot_request(
        user=dana, options={"categories": ["open_qa"]}, start=False
    )
    Snapshot.objects.update(status=SnapshotStatus.PENDING)
    Snapshot.objects.filter(pk=subset.pk).update(status=SnapshotStatus.READY)
    assert selectors.snapshot_latest() is None


def test_the_page_offers_the_limits_the_options_type_enforces(client, dana):
    from exports.services.snapshots import options

    client.force_login(dana)
    page = client.get("/exports/").content.decode()
    assert f'max="{options.MAX_MIN_APPROVALS}"' in page
    assert f'max="{options.MAX_VALIDATION_PERCENT}"' in page
