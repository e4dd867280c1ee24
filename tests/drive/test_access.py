"""The dashboard is for organisers and moderators (staff): everyone else gets 403 on the page and
on every API endpoint, in every format; without signing in, the page asks to sign in."""

import pytest

pytestmark = pytest.mark.django_db

ENDPOINTS = ["progress", "participation", "flow"]
FORMATS = ["", "?format=csv", "?format=parquet", "?format=json&table=days"]


def test_staff_see_the_dashboard_and_its_link(client, carol):
    client.force_login(carol)
    page = client.get("/drive/")
    assert page.status_code == 200
    html = page.content.decode()
    for section in ("Progress", "Participation", "Flow", "Calibration"):
        assert f">{section}</h2>" in html
    assert 'href="/drive/"' in client.get("/review/").content.decode()


@pytest.mark.parametrize("persona", ["alice", "dana"])
def test_contributors_and_data_scientists_get_403_on_the_page(client, persona, request):
    client.force_login(request.getfixturevalue(persona))
    page = client.get("/drive/")
    assert page.status_code == 403
    assert 'href="/drive/"' not in client.get("/review/").content.decode()


def test_without_signing_in_the_page_asks_to_sign_in(client, db):
    page = client.get("/drive/")
    assert page.status_code == 302 and page["Location"].startswith("/accounts/sign-in/")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("query", FORMATS)
@pytest.mark.parametrize("persona", ["alice", "dana"])
def test_everyone_but_staff_gets_403_from_the_api(api_client, persona, endpoint, query, request):
    api_client.force_authenticate(request.getfixturevalue(persona))
    answer = api_client.get(f"/api/v1/drive/{endpoint}/{query}")
    assert answer.status_code == 403
    assert answer["Content-Type"] == "application/json"
    assert "staff" in answer.json()["detail"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_the_api_without_credentials_is_401(api_client, endpoint, db):
    assert api_client.get(f"/api/v1/drive/{endpoint}/?format=csv").status_code == 401
