from django.contrib.auth import views as auth_views
from django.urls import path

from annotation.views import accounts, moderation, notifications, oidc, review, writing

app_name = "annotation"

urlpatterns = [
    path("write/", writing.category_list, name="category_list"),
    path("write/<slug:slug>/", writing.entry_new, name="entry_new"),
    path("entries/", writing.entry_list, name="entry_list"),
    path("entries/autosave/", writing.entry_autosave, name="entry_autosave"),
    path("entries/submit/", writing.entry_submit, name="entry_submit"),
    path("entries/<int:entry_id>/", writing.entry_detail, name="entry_detail"),
    path("entries/<int:entry_id>/edit/", writing.entry_edit, name="entry_edit"),
    path(
        "entries/<int:entry_id>/revisions/<int:number>/",
        writing.entry_revision,
        name="entry_revision",
    ),
    path(
        "entries/<int:entry_id>/revisions/<int:number>/restore/",
        writing.entry_revision_restore,
        name="entry_revision_restore",
    ),
    path(
        "entries/<int:entry_id>/<slug:action>/",
        writing.entry_action,
        name="entry_action",
    ),
    path("notifications/", notifications.notification_list, name="notification_list"),
    path(
        "notifications/<int:notification_id>/",
        notifications.notification_open,
        name="notification_open",
    ),
    path("notifications/read/", notifications.notifications_read_all, name="notifications_read"),
    path("review/", review.review_home, name="review_home"),
    path("review/next/", review.review_next, name="review_next"),
    path("review/<int:entry_id>/", review.review_entry, name="review_entry"),
    path("review/<int:entry_id>/skip/", review.review_skip, name="review_skip"),
    path("review/<int:entry_id>/decide/", review.entry_decide, name="entry_decide"),
    path("review/<int:entry_id>/overturn/", review.entry_overturn, name="entry_overturn"),
    path("review/<int:entry_id>/flags/", review.flag_raise, name="flag_raise"),
    path("review/<int:entry_id>/gold/", review.gold_mark, name="gold_mark"),
    path("review/<int:entry_id>/gold/unmark/", review.gold_unmark, name="gold_unmark"),
    path("moderation/", review.moderation, name="moderation"),
    path("moderation/entries/", moderation.moderation_entries, name="moderation_entries"),
    path("moderation/flags/<int:flag_id>/resolve/", review.flag_resolve, name="flag_resolve"),
]

# Accounts live at the top level (names without a namespace, as django.contrib.auth expects).
account_urlpatterns = [
    path("accounts/sign-in/", accounts.SignInView.as_view(), name="login"),
    path("accounts/sign-out/", auth_views.LogoutView.as_view(), name="logout"),
    # Company sign-in (OpenID Connect); the names are the ones mozilla-django-oidc reverses.
    path("accounts/oidc/start/", oidc.OIDCStartView.as_view(), name="oidc_authentication_init"),
    path(
        "accounts/oidc/callback/",
        oidc.OIDCCallbackView.as_view(),
        name="oidc_authentication_callback",
    ),
    path("accounts/sign-up/", accounts.sign_up, name="signup"),
    path("accounts/activate/<str:uidb64>/<str:token>/", accounts.activate, name="activate"),
    # Password reset by e-mail (404 where FLOCK_PASSWORD_SIGN_IN is off).
    path("accounts/password-reset/", accounts.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password-reset/sent/",
        accounts.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/password-reset/done/",
        accounts.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(
        "accounts/password-reset/<str:uidb64>/<str:token>/",
        accounts.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("accounts/profile/", accounts.profile, name="profile"),
    path("accounts/profile/erase/", accounts.profile_erase, name="profile_erase"),
    path("accounts/profile/tokens/", accounts.api_token_create, name="api_token_create"),
    path(
        "accounts/profile/tokens/<int:token_id>/revoke/",
        accounts.api_token_revoke,
        name="api_token_revoke",
    ),
    path("agreement/", accounts.agreement, name="agreement"),
]
