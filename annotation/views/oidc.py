"""Company sign-in's two pages: off to the identity provider, and back from it.

mozilla-django-oidc's views, with the provider's authorization endpoint discovered when needed,
and every refusal (a stale or forged state, a token for another application, an expired one, an
address outside the allowed domains, a deactivated account) shown as a page that says what went
wrong, never a bare 400 or 500. A refusal counts as a failed sign-in from the client's address
(django-axes, annotation/throttle.py), unless it is Flock's or the provider's trouble (a 502).
"""

import logging

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.signals import user_login_failed
from django.http import Http404
from django.shortcuts import render
from django.views.generic import View
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from annotation import oidc
from annotation.services.oidc import SignInRefused

logger = logging.getLogger(__name__)

_PROVIDER_ERRORS = {
    "access_denied": "You (or your company's sign-in service) declined to sign in to Flock.",
    "login_required": "Your company's sign-in service needs you to sign in there first.",
    "consent_required": "Your company's sign-in service needs you to allow Flock first.",
    "temporarily_unavailable": "Your company's sign-in service is busy. Try again in a minute.",
}


def refused(request, refusal: SignInRefused):
    return render(
        request,
        "accounts/sign_in_refused.html",
        {"message": refusal.message, "reason": refusal.reason},
        status=refusal.status_code,
    )


class OIDCStartView(OIDCAuthenticationRequestView):
    """Sends the browser to the provider with a fresh state, nonce and PKCE challenge."""

    def __init__(self, **kwargs):
        # The library reads the endpoint from settings here; it is discovered in get() instead.
        View.__init__(self, **kwargs)

    def get(self, request):
        if not oidc.enabled():
            raise Http404("Company sign-in is not set up.")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = oidc.endpoint("authorization_endpoint")
        except SignInRefused as refusal:
            return refused(request, refusal)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        return super().get(request)


class OIDCCallbackView(OIDCAuthenticationCallbackView):
    """Back from the provider: signs the person in, or says why not."""

    def get(self, request):
        if not oidc.enabled():
            raise Http404("Company sign-in is not set up.")
        try:
            return self._sign_in(request)
        except SignInRefused as refusal:
            logger.warning("company sign-in refused: %s", refusal.reason)
            if refusal.reason != "failed" and refusal.status_code < 500:
                # "failed" follows an authenticate() that answered None, which Django counted
                # already; a refusal raised inside it escaped before Django could. Without a
                # username, axes counts it for the address only.
                user_login_failed.send(
                    sender=__name__, credentials={"oidc_refusal": refusal.reason}, request=request
                )
            return refused(request, refusal)

    def _sign_in(self, request):
        error = request.GET.get("error")
        state = request.GET.get("state")
        if error:
            # As the library does: the state cannot be used again, and nobody stays signed in.
            if state in request.session.get("oidc_states", {}):
                del request.session["oidc_states"][state]
                request.session.modified = True
            auth.logout(request)
            raise SignInRefused(
                _PROVIDER_ERRORS.get(error, "Your company's sign-in service did not sign you in."),
                reason="provider_error",
            )
        if not request.GET.get("code") or not state:
            raise SignInRefused(
                "The answer from your company's sign-in service was incomplete. Sign in again.",
                reason="incomplete",
                status_code=400,
            )
        if state not in request.session.get("oidc_states", {}):
            raise SignInRefused(
                "This sign-in link is not one this browser started, or it was used already "
                "(a second tab, the back button, or an old bookmark). Sign in again from Flock's "
                "sign-in page.",
                reason="bad_state",
                status_code=400,
            )
        return super().get(request)

    def login_failure(self):
        # Reached when no backend signed the person in without saying why.
        raise SignInRefused(
            "Flock could not sign you in with your company account. Try again, or ask an "
            "administrator.",
            reason="failed",
        )
