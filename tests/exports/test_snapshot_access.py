"""The exports pages and API: who may build and download snapshots, and what they get."""

import hashlib
import io
import json
import tarfile

import pytest
from rest_framework.test import APIClient

from annotation import services as annotation
from annotation.models import EntryStatus
from exports import services
from exports.models import Snapshot, SnapshotStatus
from tests.factories import EntryFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(db):
    writer = UserFactory(username="writer")
    annotation.agreement_accept(user=writer)
    return [
        EntryFactory(author=writer, status=EntryStatus.ACCEPTED, instruction=f"Q{n} ünï?")
        for n in range(3)
    ]


@pytest.fixture
def ready(data, dana) -> Snapshot:
    snapshot, _ = services.snapshot_request(user=dana, start=False)
    return services.snapshot_build(snapshot_id=snapshot.pk)


@pytest.fixture
def token_client(dana):
    client = APIClient()
    _, key = annotation.api_token_create(user=dana, name="downloads")
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def body(response) -> bytes:
    return b"".join(response.streaming_content)


# --- Pages ---------------------------------------------------------------------------------


def test_contributors_are_refused_every_exports_page(client, alice, ready):
    client.force_login(alice)
    for url in [
        "/exports/",
        f"/exports/{ready.pk}/",
        f"/exports/{ready.pk}/progress/",
        f"/exports/{ready.pk}/files/data.jsonl",
        "/exports/latest/files/data.jsonl",
    ]:
        assert client.get(url).status_code == 403, url
    assert client.post("/exports/", {"request_key": "x"}).status_code == 403
    assert client.post(f"/exports/{ready.pk}/retry/").status_code == 403
    assert Snapshot.objects.count() == 1
    assert b"/exports/" not in client.get("/write/").content  # no link in the navigation


def test_signed_out_visitors_are_sent_to_sign_in(client, ready):
    response = client.get(f"/exports/{ready.pk}/files/data.jsonl")
    assert response.status_code == 302 and "/accounts/sign-in/" in response["Location"]


def test_a_data_scientist_builds_a_snapshot_from_the_page(
    client, dana, data, eager_celery, django_capture_on_commit_callbacks
):
    client.force_login(dana)
    page = client.get("/exports/")
    assert page.status_code == 200 and b"Build snapshot" in page.content
    assert b'href="/exports/"' in page.content  # "Exports" in the navigation
    form = {"request_key": "page-1", "include_imported": "on", "validation_percent": "10"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/exports/", form)
    snapshot = Snapshot.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/exports/{snapshot.pk}/"
    assert snapshot.status == SnapshotStatus.READY, snapshot.error
    assert snapshot.options["validation_percent"] == 10
    detail = client.get(f"/exports/{snapshot.pk}/").content.decode()
    for text in ["data.jsonl", "train.jsonl", snapshot.file("data.jsonl")["sha256"], "3 added"]:
        assert text in detail
    assert detail.count("<svg") == 4  # the category mix and three length distributions
    # The same form sent again (a double click) makes no second snapshot.
    again = client.post("/exports/", form)
    assert again["Location"] == f"/exports/{snapshot.pk}/"
    assert Snapshot.objects.count() == 1


def test_bad_options_are_shown_in_the_form_with_what_was_chosen(client, dana):
    client.force_login(dana)
    response = client.post(
        "/exports/",
        {"categories": ["open_qa"], "min_approvals": "-2", "validation_percent": "70"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "A whole number from 0 to 20." in html
    assert "A percentage from 0 to 50." in html
    assert 'value="open_qa" checked' in html
    assert 'value="70"' in html
    assert not Snapshot.objects.exists()


def test_the_progress_fragment_polls_while_building_and_reloads_when_done(client, dana):
    client.force_login(dana)
    snapshot, _ = services.snapshot_request(user=dana, start=False)
    Snapshot.objects.filter(pk=snapshot.pk).update(
        status=SnapshotStatus.RUNNING, progress=42, stage="Writing 420 of 1,000 records"
    )
    fragment = client.get(f"/exports/{snapshot.pk}/progress/", headers={"HX-Request": "true"})
    html = fragment.content.decode()
    assert 'hx-trigger="every 1s"' in html and 'value="42"' in html and "Writing 420" in html
    assert "HX-Refresh" not in fragment
    Snapshot.objects.filter(pk=snapshot.pk).update(status=SnapshotStatus.FAILED, error="boom")
    done = client.get(f"/exports/{snapshot.pk}/progress/", headers={"HX-Request": "true"})
    assert done["HX-Refresh"] == "true" and "hx-trigger" not in done.content.decode()


def test_downloads_stream_with_their_sha256(client, dana, ready):
    client.force_login(dana)
    for item in ready.files:
        response = client.get(f"/exports/{ready.pk}/files/{item['name']}")
        assert response.status_code == 200 and response.streaming
        content = body(response)
        assert (
            hashlib.sha256(content).hexdigest() == item["sha256"] == response["X-Checksum-SHA256"]
        )
        assert response["ETag"] == f'"{item["sha256"]}"'
        assert int(response["Content-Length"]) == len(content)
        assert "attachment" in response["Content-Disposition"]
    archive = client.get(f"/exports/{ready.pk}/files/{ready.archive['name']}")
    content = body(archive)
    assert hashlib.sha256(content).hexdigest() == ready.archive["sha256"]
    with tarfile.open(fileobj=io.BytesIO(content)) as tar:
        assert len(tar.getmembers()) == len(ready.files)
    latest = client.get("/exports/latest/files/data.jsonl")
    assert body(latest).count(b"\n") == 3


def test_missing_files_and_unfinished_snapshots_are_404(client, dana, ready):
    client.force_login(dana)
    assert client.get(f"/exports/{ready.pk}/files/secrets.txt").status_code == 404
    for name in ["..", ".spool", "v0001", "data.jsonl.partial"]:  # only recorded names
        assert client.get(f"/exports/{ready.pk}/files/{name}").status_code == 404
    pending, _ = services.snapshot_request(user=dana, start=False)
    response = client.get(f"/exports/{pending.pk}/files/data.jsonl")
    assert response.status_code == 404
    assert client.get("/exports/999/").status_code == 404


def test_a_failed_snapshot_can_be_built_again_from_its_page(
    client, dana, data, eager_celery, django_capture_on_commit_callbacks
):
    client.force_login(dana)
    snapshot, _ = services.snapshot_request(user=dana, start=False)
    Snapshot.objects.filter(pk=snapshot.pk).update(status=SnapshotStatus.FAILED, error="boom")
    assert b"Build again" in client.get(f"/exports/{snapshot.pk}/").content
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/exports/{snapshot.pk}/retry/")
    snapshot.refresh_from_db()
    assert (snapshot.status, snapshot.version) == (SnapshotStatus.READY, 1)
    response = client.post(f"/exports/{snapshot.pk}/retry/", follow=True)
    assert b"Only a failed snapshot, or one whose job has not started" in response.content


# --- API ---------------------------------------------------------------------------------


def test_the_api_refuses_contributors_and_strangers(alice, ready):
    stranger = APIClient()
    assert stranger.get("/api/v1/snapshots/").status_code == 401
    contributor = APIClient()
    _, key = annotation.api_token_create(user=alice, name="downloads")
    contributor.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    for url in [
        "/api/v1/snapshots/",
        "/api/v1/snapshots/latest/",
        f"/api/v1/snapshots/{ready.pk}/",
        f"/api/v1/snapshots/{ready.pk}/files/data.jsonl",
    ]:
        response = contributor.get(url)
        assert response.status_code == 403, url
        assert "data scientists" in response.json()["detail"]
    assert contributor.post("/api/v1/snapshots/", {}, format="json").status_code == 403


def test_a_token_builds_and_fetches_a_snapshot(
    token_client, data, eager_celery, django_capture_on_commit_callbacks
):
    assert token_client.get("/api/v1/snapshots/latest/").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        created = token_client.post(
            "/api/v1/snapshots/",
            {"validation_percent": 20},
            format="json",
            headers={"Idempotency-Key": "nightly-train-1"},
        )
    assert created.status_code == 202
    answer = created.json()
    assert answer["job_id"] and answer["status"] == "pending"
    assert answer["progress_url"].endswith(f"/api/v1/snapshots/{answer['id']}/")
    again = token_client.post(
        "/api/v1/snapshots/",
        {"validation_percent": 20},
        format="json",
        headers={"Idempotency-Key": "nightly-train-1"},
    )
    assert again.status_code == 200 and again.json()["id"] == answer["id"]

    snapshot = token_client.get(answer["progress_url"]).json()
    assert snapshot["status"] == "ready" and snapshot["progress"] == 100
    assert snapshot["record_count"] == 3 and snapshot["category_counts"] == {"open_qa": 3}
    assert snapshot["parent"] is None and snapshot["parent_version"] is None
    assert snapshot["version"] == 1
    assert [f["name"] for f in snapshot["files"]] == [
        "data.jsonl",
        "train.jsonl",
        "validation.jsonl",
        "data/train-00000-of-00001.parquet",
        "data/validation-00000-of-00001.parquet",
        "metadata.parquet",
        "README.md",
        "manifest.json",
    ]
    assert token_client.get("/api/v1/snapshots/latest/").json()["id"] == answer["id"]
    listing = token_client.get("/api/v1/snapshots/").json()
    assert [s["id"] for s in listing["results"]] == [answer["id"]]
    for item in snapshot["files"]:
        response = token_client.get(item["url"])
        content = body(response)
        assert hashlib.sha256(content).hexdigest() == item["sha256"]
        assert len(content) == item["size"]
    latest = token_client.get("/api/v1/snapshots/latest/files/data.jsonl")
    assert [json.loads(line)["category"] for line in body(latest).splitlines()] == ["open_qa"] * 3


def test_the_api_explains_bad_options(token_client):
    response = token_client.post(
        "/api/v1/snapshots/", {"categories": ["poetry"], "min_approvals": 99}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["categories"] == ["Unknown categories: poetry."]
    assert "min_approvals" in response.json()
    assert not Snapshot.objects.exists()


def test_a_file_missing_from_storage_is_a_404_not_a_500(client, dana, ready, snapshot_storage):
    client.force_login(dana)
    (snapshot_storage / ready.directory / "README.md").unlink()
    assert client.get(f"/exports/{ready.pk}/files/README.md").status_code == 404
    archive = client.get(f"/exports/{ready.pk}/files/{ready.archive['name']}")
    assert archive.status_code == 404
    assert client.get(f"/exports/{ready.pk}/files/data.jsonl").status_code == 200


def test_the_same_key_with_other_options_is_a_conflict(token_client):
    first = token_client.post("/api/v1/snapshots/", {"request_key": "k"}, format="json")
    assert first.status_code == 202
    other = token_client.post(
        "/api/v1/snapshots/", {"request_key": "k", "min_approvals": 3}, format="json"
    )
    assert other.status_code == 409 and "other options" in other.json()["detail"]
    assert Snapshot.objects.count() == 1


def test_latest_is_the_newest_snapshot_of_all_the_data(token_client, dana, data):
    full, _ = services.snapshot_request(user=dana, options={"validation_percent": 10}, start=False)
    services.snapshot_build(snapshot_id=full.pk, rescan=False)
    subset, _ = services.snapshot_request(
        user=dana, options={"categories": ["brainstorming"]}, start=False
    )
    services.snapshot_build(snapshot_id=subset.pk, rescan=False)
    assert token_client.get("/api/v1/snapshots/latest/").json()["id"] == full.pk
