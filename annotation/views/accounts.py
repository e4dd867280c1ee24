"""Sign-in, sign-up, profile and the contributor agreement."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from annotation import selectors, services
from annotation.forms import ProfileForm, SignInForm, SignUpForm
from config.errors import StateConflict


class SignInView(auth_views.LoginView):
    template_name = "accounts/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "signup_open": signup_open()}


def signup_open() -> bool:
    return bool(settings.FLOCK_SIGNUP_EMAIL_DOMAINS)


def sign_up(request):
    if not signup_open():
        return render(request, "accounts/sign_up_closed.html", status=404)
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
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return render(request, "accounts/sign_up_sent.html", {"email": data["email"]})
    domains = ", ".join("@" + d for d in settings.FLOCK_SIGNUP_EMAIL_DOMAINS)
    return render(
        request,
        "accounts/sign_up.html",
        {"form": form, "domains": domains},
        status=400 if form.errors else 200,
    )


def activate(request, uidb64: str, token: str):
    user = services.user_activate(uidb64=uidb64, token=token)
    if user is None:
        return render(request, "accounts/activation_invalid.html", status=400)
    messages.success(request, "Your account is confirmed. Sign in to start writing.")
    return redirect("login")


@login_required
def profile(request):
    current = selectors.profile_for(user=request.user)
    initial = {
        "display_name": current.display_name,
        "team": current.team,
        "show_on_leaderboard": current.show_on_leaderboard,
    }
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.profile_update(user=request.user, **form.cleaned_data)
        messages.success(request, "Profile saved.")
        return redirect("profile")
    return render(
        request,
        "accounts/profile.html",
        {
            "form": form,
            "agreement": selectors.agreement_status(user=request.user),
            "review_agreement": selectors.reviewer_agreement(reviewer=request.user),
        },
    )


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
