from django.urls import path

from annotation.api import tokens, views

urlpatterns = [
    path("auth/token/", tokens.TokenApi.as_view(), name="api-token"),
    path("categories/", views.CategoryListApi.as_view(), name="api-categories"),
    path("entries/", views.EntryListApi.as_view(), name="api-entries"),
    path("entries/<int:entry_id>/", views.EntryDetailApi.as_view(), name="api-entry"),
    path("entries/<int:entry_id>/submit/", views.EntrySubmitApi.as_view(), name="api-entry-submit"),
    path(
        "entries/<int:entry_id>/withdraw/",
        views.EntryWithdrawApi.as_view(),
        name="api-entry-withdraw",
    ),
    path("entries/<int:entry_id>/reopen/", views.EntryReopenApi.as_view(), name="api-entry-reopen"),
    path(
        "entries/<int:entry_id>/release-withdrawal/",
        views.EntryReleaseWithdrawalApi.as_view(),
        name="api-entry-release-withdrawal",
    ),
    path("entries/<int:entry_id>/reviews/", views.EntryReviewsApi.as_view(), name="api-reviews"),
    path("entries/<int:entry_id>/skip/", views.EntrySkipApi.as_view(), name="api-entry-skip"),
    path("entries/<int:entry_id>/decide/", views.EntryDecideApi.as_view(), name="api-entry-decide"),
    path("entries/<int:entry_id>/gold/", views.EntryGoldApi.as_view(), name="api-entry-gold"),
    path(
        "entries/<int:entry_id>/overturn/",
        views.EntryOverturnApi.as_view(),
        name="api-entry-overturn",
    ),
    path("reviews/next/", views.ReviewNextApi.as_view(), name="api-review-next"),
    path("entries/<int:entry_id>/flags/", views.EntryFlagsApi.as_view(), name="api-entry-flags"),
    path("flags/", views.FlagListApi.as_view(), name="api-flags"),
    path("flags/<int:flag_id>/resolve/", views.FlagResolveApi.as_view(), name="api-flag-resolve"),
    path("me/", views.MeApi.as_view(), name="api-me"),
    path("me/erase/", views.MeEraseApi.as_view(), name="api-me-erase"),
    path("me/agreement/", views.AgreementApi.as_view(), name="api-me-agreement"),
    path("me/tokens/", tokens.MeTokensApi.as_view(), name="api-me-tokens"),
    path("me/tokens/<int:token_id>/", tokens.MeTokenApi.as_view(), name="api-me-token"),
]
