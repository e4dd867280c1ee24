from django.urls import path

from leaderboard import api

urlpatterns = [
    path("contests/", api.ContestListApi.as_view(), name="api-contests"),
    path("contests/current/", api.ContestCurrentApi.as_view(), name="api-contest-current"),
    path("contests/<int:contest_id>/", api.ContestDetailApi.as_view(), name="api-contest"),
    path(
        "contests/<int:contest_id>/leaderboard/",
        api.ContestLeaderboardApi.as_view(),
        name="api-contest-leaderboard",
    ),
    path(
        "contests/<int:contest_id>/finalize/",
        api.ContestFinalizeApi.as_view(),
        name="api-contest-finalize",
    ),
    path("leaderboard/", api.LeaderboardApi.as_view(), name="api-leaderboard"),
    path("me/points/", api.MyPointsApi.as_view(), name="api-me-points"),
]
