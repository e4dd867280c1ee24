"""Sign-in, sign-up, profile and the contributor agreement."""

from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from annotation import oidc, selectors, services, throttle
from annotation.forms import ApiTokenForm, ProfileForm, SignInForm, SignUpForm
from annotation.lookups import own_api_token_or_404
from config.errors import DomainError, StateConflict


class SignInView(auth_views.LoginView):
    template_name = "accounts/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "signup_open": signup_open(),
            "password_sign_in": settings.FLOCK_PASSWORD_SIGN_IN,
            "oidc_provider": settings.OIDC_PROVIDER_NAME if oidc.enabled() else None,
        }

    def get_redirect_url(self):
        """The safe `next`, except that a POST-only page (a form's target, e.g. the submit of
        a writer whose session ended) lands on the page its view names instead: following it
        with a GET would only answer 405."""
        url = super().get_redirect_url()
        if not url:
            return url
        try:
            view = resolve(urlsplit(url).path).func
        except Resolver404:
            return url
        landing = getattr(view, "after_sign_in", None)
        return reverse(landing) if landing else url

    def post(self, request, *args, **kwargs):
        if not settings.FLOCK_PASSWORD_SIGN_IN:
            # Company sign-in only: a password is refused before anything looks at it.
            context = self.get_context_data(password_refused=True)
            return self.render_to_response(context, status=403)
        return super().post(request, *args, **kwargs)


def signup_open() -> bool:
    return services.signup_open()


def sign_up(request):
    if not signup_open():
        return render(
            request,
            "accounts/sign_up_closed.html",
            {"oidc_provider": settings.OIDC_PROVIDER_NAME if oidc.enabled() else None},
            status=404,
        )
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.user_sign_up(
                username=data["username"],
                email=data["email"],
                password=data["password"],
                display_name=data["display_name"],
                team=data["team"],
                activation_url_for=lambda uid, token: request.build_absolute_uri(
                    reverse("activate", args=[uid, token])
                ),
                sign_in_url=request.build_absolute_uri(reverse("login")),
                password_reset_url=request.build_absolute_uri(reverse("password_reset")),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        except StateConflict as exc:
            form.add_error(None, exc.message)
        else:
            return render(request, "accounts/sign_up_sent.html", {"email": data["email"]})
    domains = ", ".join("@" + d for d in settings.FLOCK_SIGNUP_EMAIL_DOMAINS)
    return render(
        request,
        "accounts/sign_up.html",
        {"form": form, "domains": domains},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "HEAD", "POST"])
def activate(request, uidb64: str, token: str):
    """GET shows the account and a button (mail scanners fetch links: a GET changes nothing);
    the button's POST confirms and signs the person in, which spends the link."""
    if request.method != "POST":
        user = services.activation_user(uidb64=uidb64, token=token)
        if user is None:
            return render(request, "accounts/activation_invalid.html", status=400)
        return render(request, "accounts/activate.html", {"account": user})
    user = services.user_activate(uidb64=uidb64, token=token)
    if user is None:
        return render(request, "accounts/activation_invalid.html", status=400)
    auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(request, "Your account is confirmed and you are signed in.")
    return redirect(settings.LOGIN_REDIRECT_URL)


class PasswordSignInOnly:
    """Password reset exists only where password sign-in is on (FLOCK_PASSWORD_SIGN_IN)."""

    def dispatch(self, request, *args, **kwargs):
        if not settings.FLOCK_PASSWORD_SIGN_IN:
            raise Http404("Password sign-in is off here.")
        return super().dispatch(request, *args, **kwargs)


class PasswordResetView(PasswordSignInOnly, auth_views.PasswordResetView):
    """Ask for a reset link: the same answer whether or not the address has an account."""

    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"


class PasswordResetDoneView(PasswordSignInOnly, auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"

    def get_context_data(self, **kwargs):
        days = max(1, settings.PASSWORD_RESET_TIMEOUT // 86_400)
        return {**super().get_context_data(**kwargs), "timeout_days": days}


class PasswordResetConfirmView(PasswordSignInOnly, auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"

    def form_valid(self, form):
        response = super().form_valid(form)
        # The mailbox's owner chose a new password: their username is no longer locked out.
        throttle.forget_username_failures(username=form.user.get_username())
        return response


class PasswordResetCompleteView(PasswordSignInOnly, auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


@login_required
def profile(request):
    form = ProfileForm(request.POST or None, initial=_profile_initial(request.user))
    if request.method == "POST" and form.is_valid():
        services.profile_update(user=request.user, **form.cleaned_data)
        messages.success(request, "Profile saved.")
        return redirect("profile")
    return _profile_page(request, form=form)


def _profile_initial(user) -> dict:
    current = selectors.profile_for(user=user)
    return {
        "display_name": current.display_name,
        "team": current.team,
        "show_on_leaderboard": current.show_on_leaderboard,
        "email_notifications": current.email_notifications,
    }


def _profile_page(
    request, *, form=None, token_form=None, new_key=None, status=200, erase_error="", erase_typed=""
):
    """The profile page; after making a token, with its key (`new_key`) shown this once; after
    a refused erasure, with its message and what was typed."""
    form = form or ProfileForm(initial=_profile_initial(request.user))
    # No cache keeps the key: signed-in answers are no-store (config.middleware).
    return render(
        request,
        "accounts/profile.html",
        {
            "form": form,
            "agreement": selectors.agreement_status(user=request.user),
            "review_agreement": selectors.reviewer_agreement(reviewer=request.user),
            "token_form": token_form or ApiTokenForm(),
            "tokens": selectors.api_tokens_of(user=request.user),
            "new_key": new_key,
            "now": timezone.now(),
            "erase_error": erase_error,
            "erase_typed": erase_typed,
        },
        status=status,
    )


@login_required
@require_POST
def profile_erase(request):
    """Erase the signed-in person's data (services.person_erase), once they typed their
    username; then they are signed out and told so on the sign-in page."""
    typed = request.POST.get("confirm", "")[:200]
    problem = services.erase_confirmation_error(person=request.user, typed=typed)
    if problem:
        return _profile_page(request, erase_error=problem, erase_typed=typed, status=400)
    try:
        erasure = services.person_erase(person=request.user, actor=request.user)
    except DomainError as exc:
        return _profile_page(
            request, erase_error=exc.message, erase_typed=typed, status=exc.status_code
        )
    auth_logout(request)
    messages.success(
        request,
        f"Your data is erased: the text of {erasure.entries} entr"
        f"{'y' if erasure.entries == 1 else 'ies'} and your account's details. "
        "You are signed out, and this account cannot sign in again.",
    )
    return redirect("login")


@login_required
@require_POST
def api_token_create(request):
    """Make a named token and show its key on the profile page, this once (no redirect: the
    key is never stored, not even in the session, to show it after one)."""
    token_form = ApiTokenForm(request.POST)
    if token_form.is_valid():
        try:
            _, key = services.api_token_create(user=request.user, **token_form.cleaned_data)
        except ValidationError as exc:
            token_form.add_error(None, exc)
        else:
            return _profile_page(request, new_key=key)
    return _profile_page(request, token_form=token_form, status=400)


@login_required
@require_POST
def api_token_revoke(request, token_id: int):
    token = own_api_token_or_404(request.user, token_id)
    services.api_token_revoke(token=token, by=request.user)
    messages.success(request, f"Token “{token.name}” revoked: scripts using it are refused now.")
    return redirect(reverse("profile") + "#api-tokens")


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@login_required
def agreement(request):
    status = selectors.agreement_status(user=request.user)
    next_url = _safe_next(request, reverse("annotation:category_list"))
    if request.method == "POST":
        try:
            services.agreement_accept(user=request.user, version=request.POST.get("version"))
        except StateConflict as exc:
            messages.error(request, exc.message)
            return redirect(f"{reverse('agreement')}?{urlencode({'next': next_url})}")
        messages.success(request, "Thank you. You can now submit entries.")
        return redirect(next_url)
    return render(request, "accounts/agreement.html", {"status": status, "next": next_url})
