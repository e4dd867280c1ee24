from django.contrib.auth import views as auth_views
from django.urls import path

from annotation import views

app_name = "annotation"

urlpatterns = [
    path("write/", views.category_list, name="category_list"),
    path("write/<slug:slug>/", views.entry_new, name="entry_new"),
    path("entries/", views.entry_list, name="entry_list"),
    path("entries/autosave/", views.entry_autosave, name="entry_autosave"),
    path("entries/submit/", views.entry_submit, name="entry_submit"),
    path("entries/<int:entry_id>/", views.entry_detail, name="entry_detail"),
    path("entries/<int:entry_id>/edit/", views.entry_edit, name="entry_edit"),
    path(
        "entries/<int:entry_id>/<slug:action>/",
        views.entry_action,
        name="entry_action",
    ),
]

# Accounts live at the top level (names without a namespace, as django.contrib.auth expects).
account_urlpatterns = [
    path("accounts/sign-in/", views.SignInView.as_view(), name="login"),
    path("accounts/sign-out/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/sign-up/", views.sign_up, name="signup"),
    path("accounts/activate/<str:uidb64>/<str:token>/", views.activate, name="activate"),
    path("accounts/profile/", views.profile, name="profile"),
    path("agreement/", views.agreement, name="agreement"),
]
