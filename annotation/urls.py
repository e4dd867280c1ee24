from django.contrib.auth import views as auth_views
from django.urls import path

from annotation.views import accounts, review, writing

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
        "entries/<int:entry_id>/<slug:action>/",
        writing.entry_action,
        name="entry_action",
    ),
    path("review/", review.review_home, name="review_home"),
    path("review/next/", review.review_next, name="review_next"),
    path("review/<int:entry_id>/", review.review_entry, name="review_entry"),
    path("review/<int:entry_id>/skip/", review.review_skip, name="review_skip"),
    path("review/<int:entry_id>/decide/", review.entry_decide, name="entry_decide"),
    path("review/<int:entry_id>/flags/", review.flag_raise, name="flag_raise"),
    path("moderation/", review.moderation, name="moderation"),
    path("moderation/flags/<int:flag_id>/resolve/", review.flag_resolve, name="flag_resolve"),
]

# Accounts live at the top level (names without a namespace, as django.contrib.auth expects).
account_urlpatterns = [
    path("accounts/sign-in/", accounts.SignInView.as_view(), name="login"),
    path("accounts/sign-out/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/sign-up/", accounts.sign_up, name="signup"),
    path("accounts/activate/<str:uidb64>/<str:token>/", accounts.activate, name="activate"),
    path("accounts/profile/", accounts.profile, name="profile"),
    path("agreement/", accounts.agreement, name="agreement"),
]
