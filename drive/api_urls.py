from django.urls import path

from drive import api

urlpatterns = [
    path("drive/progress/", api.ProgressApi.as_view(), name="api-drive-progress"),
    path("drive/participation/", api.ParticipationApi.as_view(), name="api-drive-participation"),
    path("drive/flow/", api.FlowApi.as_view(), name="api-drive-flow"),
]
