from django.urls import path

from leaderboard import views

app_name = "leaderboard"

urlpatterns = [
    path("leaderboard/", views.leaderboard, name="leaderboard"),
    path("leaderboard/contests/<int:contest_id>/", views.contest_board, name="contest_board"),
    path("points/", views.my_points, name="my_points"),
    path("contests/", views.contest_admin, name="contest_admin"),
    path("contests/<int:contest_id>/edit/", views.contest_admin, name="contest_edit"),
    path("contests/<int:contest_id>/finalize/", views.contest_finalize, name="contest_finalize"),
    path(
        "contests/<int:contest_id>/standings.csv",
        views.contest_standings_csv,
        name="contest_standings_csv",
    ),
]
