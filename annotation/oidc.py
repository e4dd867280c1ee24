"""Company sign-in through OpenID Connect: mozilla-django-oidc's backend, configured from settings.

On when OIDC_OP_ISSUER is set. The provider's endpoints come from its discovery document, read at
the first sign-in and kept for an hour (never at start-up, so that Flock starts even while the
provider is down); OIDC_OP_*_ENDPOINT settings override them. The library checks the ID token's
signature and nonce; `id_token_verify` adds its issuer, audience, expiry and time of issue. Every
failure becomes a SignInRefused that the callback page shows. What the claims make of an account
is annotation/services/oidc.py's.
"""

import logging
import threading
import time

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from annotation.services.oidc import SignInRefused, oidc_user_sign_in

logger = logging.getLogger(__name__)

DISCOVERY_MAX_AGE = 60 * 60  # seconds a discovery document is trusted before it is read again
CLOCK_SKEW = 60  # seconds of disagreement between Flock's clock and the provider's we accept
CALLBACK_URL_NAME = "oidc_authentication_callback"  # the only page where a code is exchanged

_ENDPOINT_OVERRIDES = {
    "authorization_endpoint": "OIDC_OP_AUTHORIZATION_ENDPOINT",
    "token_endpoint": "OIDC_OP_TOKEN_ENDPOINT",
    "userinfo_endpoint": "OIDC_OP_USER_ENDPOINT",
    "jwks_uri": "OIDC_OP_JWKS_ENDPOINT",
}
_discovered: dict[str, tuple[float, dict]] = {}
_discovery_lock = threading.Lock()


def enabled() -> bool:
    return bool(settings.OIDC_OP_ISSUER)


def unreachable(detail: str) -> SignInRefused:
    logger.warning("company sign-in: the provider did not answer: %s", detail)
    return SignInRefused(
        "Flock could not reach your company's sign-in service. Try again in a minute; if it "
        "keeps happening, tell an administrator.",
        reason="provider_unreachable",
        status_code=502,
    )


def misconfigured(detail: str) -> SignInRefused:
    logger.error("company sign-in is misconfigured: %s", detail)
    return SignInRefused(
        "Company sign-in is not set up correctly, so Flock cannot let you in this way. Tell an "
        "administrator (the details are in Flock's log).",
        reason="misconfigured",
        status_code=502,
    )


def provider_metadata() -> dict:
    """The issuer's /.well-known/openid-configuration, fetched on first use and kept an hour."""
    issuer = settings.OIDC_OP_ISSUER
    cached = _discovered.get(issuer)
    if cached is not None and time.monotonic() - cached[0] < DISCOVERY_MAX_AGE:
        return cached[1]
    with _discovery_lock:
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise unreachable(f"{url}: {exc}") from exc
        if not isinstance(document, dict) or document.get("issuer") != issuer:
            found = document.get("issuer") if isinstance(document, dict) else None
            raise misconfigured(
                f"OIDC_OP_ISSUER is {issuer!r} but {url} names the issuer {found!r}; "
                "set OIDC_OP_ISSUER to exactly the provider's issuer"
            )
        _discovered[issuer] = (time.monotonic(), document)
        return document


def endpoint(name: str, *, required: bool = True) -> str:
    """One of the provider's endpoints: its OIDC_OP_*_ENDPOINT setting, else the discovered one."""
    value = getattr(settings, _ENDPOINT_OVERRIDES[name]) or provider_metadata().get(name) or ""
    if required and not value:
        raise misconfigured(f"the provider's discovery document has no {name}")
    return value


def id_token_verify(
    token: str | None, *, key, algorithm: str, issuer: str, client_id: str, nonce: str | None
) -> dict:
    """The ID token's claims, once its signature, issuer, audience, expiry, time of issue and
    nonce are right (OpenID Connect Core 3.1.3.7). mozilla-django-oidc 5.0.2 checks only the
    signature and nonce, and lets an expired token through as a 500."""
    if not token:
        raise SignInRefused(
            "Your company's sign-in service answered without an ID token.",
            reason="no_id_token",
            status_code=502,
        )
    checks = {
        jwt.ExpiredSignatureError: (
            "expired",
            "The sign-in answer from your company account had expired when it reached Flock. "
            "Sign in again; if it keeps happening, this computer's or the server's clock is wrong.",
        ),
        jwt.ImmatureSignatureError: (
            "not_yet_valid",
            "The sign-in answer from your company account is dated in the future, so a clock is "
            "wrong. Tell an administrator.",
        ),
        jwt.InvalidAudienceError: (
            "wrong_audience",
            "The sign-in answer was issued for another application, not for Flock, so Flock did "
            "not accept it. Sign in again from Flock's sign-in page.",
        ),
        jwt.InvalidIssuerError: (
            "wrong_issuer",
            "The sign-in answer came from another sign-in service than your company's, so Flock "
            "did not accept it.",
        ),
        jwt.InvalidSignatureError: (
            "bad_signature",
            "The sign-in answer was not signed by your company's sign-in service, so Flock did "
            "not accept it.",
        ),
        jwt.MissingRequiredClaimError: (
            "incomplete_token",
            "The sign-in answer from your company account is missing details Flock needs.",
        ),
    }
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != algorithm:
            raise jwt.InvalidSignatureError(f"signed with {header.get('alg')!r}, not {algorithm}")
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=client_id,
            issuer=issuer,
            leeway=CLOCK_SKEW,
            options={"require": ["iss", "sub", "aud", "exp", "iat"]},
        )
    except jwt.InvalidTokenError as exc:
        reason, message = next(
            (checks[kind] for kind in checks if isinstance(exc, kind)),
            ("bad_token", "The sign-in answer from your company account could not be read."),
        )
        logger.warning("company sign-in refused (%s): %s", reason, exc)
        raise SignInRefused(message, reason=reason, status_code=400) from exc
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if claims.get("azp", client_id) != client_id or (len(audiences) > 1 and "azp" not in claims):
        reason, message = checks[jwt.InvalidAudienceError]
        logger.warning("company sign-in refused (%s): azp %r", reason, claims.get("azp"))
        raise SignInRefused(message, reason=reason, status_code=400)
    if nonce is not None and claims.get("nonce") != nonce:
        logger.warning("company sign-in refused (replayed): the nonce does not match")
        raise SignInRefused(
            "This sign-in answer belongs to another sign-in attempt, so Flock did not accept it. "
            "Sign in again from Flock's sign-in page.",
            reason="replayed",
            status_code=400,
        )
    return claims


class OIDCBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend with settings read when used and endpoints discovered.

    Django builds a backend for every request of a signed-in session (to load its user), so
    nothing here may touch the network or require settings until a sign-in actually happens.
    """

    def __init__(self, *args, **kwargs):
        self.UserModel = get_user_model()

    OIDC_OP_TOKEN_ENDPOINT = property(lambda self: endpoint("token_endpoint"))
    OIDC_OP_USER_ENDPOINT = property(lambda self: endpoint("userinfo_endpoint", required=False))
    OIDC_OP_JWKS_ENDPOINT = property(lambda self: endpoint("jwks_uri"))
    OIDC_RP_CLIENT_ID = property(lambda self: settings.OIDC_RP_CLIENT_ID)
    OIDC_RP_CLIENT_SECRET = property(lambda self: settings.OIDC_RP_CLIENT_SECRET)
    OIDC_RP_SIGN_ALGO = property(lambda self: settings.OIDC_RP_SIGN_ALGO)
    OIDC_RP_IDP_SIGN_KEY = None  # keys come from the provider's JWKS, so that it can rotate them

    def authenticate(self, request, **kwargs):
        """A sign-in only on Flock's callback page, after it checked the state (and with the
        nonce it kept). Django asks every backend on every authenticate() call: the library
        alone would exchange any `?code=…&state=…` it finds in the query, so a password sign-in
        with those in its URL would become a code exchange without the state and nonce checks,
        and its refusal would escape authenticate() uncounted by axes. Which page the request
        is for is the robust test: it does not depend on what credentials a caller passes."""
        if not enabled() or request is None or kwargs.get("nonce") is None:
            return None
        match = getattr(request, "resolver_match", None)
        if match is None or match.view_name != CALLBACK_URL_NAME:
            return None
        return super().authenticate(request, **kwargs)

    def get_user(self, user_id):
        """The session's user while the account is active, as ModelBackend does: deactivating an
        account ends its company sign-in sessions too."""
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None

    def get_token(self, payload):
        try:
            return super().get_token(payload)
        except requests.HTTPError as exc:
            response = exc.response
            if response is not None and 400 <= response.status_code < 500:
                logger.warning("company sign-in refused by the token endpoint: %s", exc)
                raise SignInRefused(
                    "Your company's sign-in service would not confirm this sign-in (it may have "
                    "been used already or taken too long). Sign in again.",
                    reason="code_refused",
                    status_code=400,
                ) from exc
            raise unreachable(str(exc)) from exc
        except requests.RequestException as exc:
            raise unreachable(str(exc)) from exc

    def retrieve_matching_jwk(self, token):
        try:
            return super().retrieve_matching_jwk(token)
        except requests.RequestException as exc:
            raise unreachable(str(exc)) from exc
        except (SuspiciousOperation, KeyError, jwt.InvalidTokenError) as exc:
            logger.warning("company sign-in refused (unknown key): %s", exc)
            raise SignInRefused(
                "The sign-in answer was not signed by your company's sign-in service, so Flock "
                "did not accept it.",
                reason="bad_signature",
                status_code=400,
            ) from exc

    def get_settings(self, attr, *args):
        if attr == "OIDC_TOKEN_USE_BASIC_AUTH":
            return self._token_auth_basic()
        return super().get_settings(attr, *args)

    def _token_auth_basic(self) -> bool:
        """Send the client secret as HTTP Basic, unless the provider lists client_secret_post
        (the library always posts it; Discovery 1.0 makes Basic the default)."""
        if settings.OIDC_OP_TOKEN_ENDPOINT:
            return False
        methods = provider_metadata().get("token_endpoint_auth_methods_supported")
        return "client_secret_post" not in (methods or ["client_secret_basic"])

    def _key_for(self, token: str):
        if self.OIDC_RP_SIGN_ALGO.startswith("HS"):  # signed with the client secret
            return self.OIDC_RP_CLIENT_SECRET
        return self.retrieve_matching_jwk(token)

    def verify_token(self, token, **kwargs):
        return id_token_verify(
            token,
            key=self._key_for(token) if token else None,
            algorithm=self.OIDC_RP_SIGN_ALGO,
            issuer=settings.OIDC_OP_ISSUER,
            client_id=self.OIDC_RP_CLIENT_ID,
            nonce=kwargs.get("nonce"),
        )

    def get_userinfo(self, access_token, id_token, payload):
        """The ID token's claims, completed by the userinfo endpoint's when the provider has one
        (some put groups only in the one, some only in the other)."""
        url = self.OIDC_OP_USER_ENDPOINT
        if not url:
            return dict(payload)
        try:
            response = requests.get(
                url,
                headers={"Authorization": f"Bearer {access_token}"},
                timeout=settings.OIDC_TIMEOUT,
            )
            response.raise_for_status()
            if response.headers.get("content-type", "").lower().startswith("application/jwt"):
                info = self._signed_userinfo(response.text)
            else:
                info = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise unreachable(f"userinfo: {exc}") from exc
        # Core 5.3.2: the userinfo answer must be about the person the ID token names.
        if not isinstance(info, dict) or info.get("sub") != payload.get("sub"):
            raise misconfigured("the userinfo endpoint answered for another subject")
        return {**payload, **info}

    def _signed_userinfo(self, text: str) -> dict:
        key = self._key_for(text)
        try:
            return jwt.decode(
                text, key, algorithms=[self.OIDC_RP_SIGN_ALGO], options={"verify_aud": False}
            )
        except jwt.InvalidTokenError as exc:
            raise misconfigured(f"the signed userinfo answer does not verify: {exc}") from exc

    def get_or_create_user(self, access_token, id_token, payload):
        return oidc_user_sign_in(claims=self.get_userinfo(access_token, id_token, payload))
