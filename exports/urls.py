from django.urls import path, re_path

from exports import views

app_name = "exports"

urlpatterns = [
    path("exports/", views.snapshot_list, name="snapshot_list"),
    path("exports/<int:snapshot_id>/", views.snapshot_detail, name="snapshot_detail"),
    path("exports/<int:snapshot_id>/progress/", views.snapshot_progress, name="snapshot_progress"),
    path("exports/<int:snapshot_id>/retry/", views.snapshot_retry, name="snapshot_retry"),
    path("exports/<int:snapshot_id>/pin/", views.snapshot_pin, name="snapshot_pin"),
    re_path(
        r"^exports/(?P<snapshot_id>\d+|latest)/files/(?P<name>(?:data/)?\w[\w.-]*)$",
        views.snapshot_file,
        name="snapshot_file",
    ),
]
