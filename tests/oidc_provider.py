"""A real OpenID Connect provider for the tests: oidc-provider-mock, in a process of its own.

It signs ID tokens with RS256 and a key it makes at start (published at /jwks), accepts any client
id and secret, and lets a test choose who signs in: `provider.user(sub, **claims)` stores the
claims for a subject, and posting that subject to the authorization URL (or typing it in its
"Subject" box) signs in as them. The fixtures are imported by tests/conftest.py.
"""

import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import pytest
import requests

CLIENT_ID = "flock"
CLIENT_SECRET = "flock-test-secret"
STAFF_GROUP = "flock-moderators"
SCIENTIST_GROUP = "ml-platform"


@dataclass
class Provider:
    issuer: str

    def user(self, sub: str, **claims) -> None:
        """What the provider says about `sub` from now on (replaces what it said before)."""
        response = requests.put(
            f"{self.issuer}/users/{quote(sub, safe='')}", json=claims, timeout=5
        )
        assert response.status_code == 204, response.text

    def authorize(self, authorization_url: str, sub: str) -> str:
        """Sign in as `sub` at the provider's page; the path and query it sends the browser back to."""
        response = requests.post(
            authorization_url, data={"sub": sub}, allow_redirects=False, timeout=5
        )
        assert response.status_code == 302, response.text
        back = urlsplit(response.headers["Location"])
        return f"{back.path}?{back.query}"

    def deny(self, authorization_url: str) -> str:
        response = requests.post(
            authorization_url, data={"action": "deny"}, allow_redirects=False, timeout=5
        )
        assert response.status_code == 302, response.text
        back = urlsplit(response.headers["Location"])
        return f"{back.path}?{back.query}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    """The provider on a free port of 127.0.0.1, answering its discovery URL before tests use it."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("oidc-provider") / "provider.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "oidc_provider_mock",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    issuer = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"the OpenID provider stopped at start:\n{log_path.read_text()}")
            try:
                if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the OpenID provider did not answer in 30 s:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield Provider(issuer=issuer)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def oidc_settings(settings, oidc_provider):
    """Company sign-in through the test provider, as an operator would set it up."""
    settings.OIDC_OP_ISSUER = oidc_provider.issuer
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_PROVIDER_NAME = "Acme SSO"
    settings.OIDC_ALLOWED_EMAIL_DOMAINS = ["acme.example"]
    settings.OIDC_CLAIM_TEAM = "department"
    settings.OIDC_STAFF_GROUPS = [STAFF_GROUP]
    settings.OIDC_DATA_SCIENTIST_GROUPS = [SCIENTIST_GROUP]
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        "annotation.oidc.OIDCBackend",
    ]
    return settings
