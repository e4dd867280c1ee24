from django.urls import path, re_path

from exports import api

urlpatterns = [
    path("snapshots/", api.SnapshotListApi.as_view(), name="api-snapshots"),
    path("snapshots/latest/", api.SnapshotLatestApi.as_view(), name="api-snapshot-latest"),
    path("snapshots/<int:snapshot_id>/", api.SnapshotDetailApi.as_view(), name="api-snapshot"),
    path("snapshots/<int:snapshot_id>/pin/", api.SnapshotPinApi.as_view(), name="api-snapshot-pin"),
    re_path(
        r"^snapshots/(?P<snapshot_id>\d+|latest)/files/(?P<name>(?:data/)?\w[\w.-]*)$",
        api.SnapshotFileApi.as_view(),
        name="api-snapshot-file",
    ),
]
