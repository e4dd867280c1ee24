from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from annotation.urls import account_urlpatterns
from config import views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="annotation:category_list"), name="home"),
    path("", include("annotation.urls")),
    path("", include("leaderboard.urls")),
    path("", include("quality.urls")),
    path("", include("exports.urls")),
    path("", include("drive.urls")),
    *account_urlpatterns,
    path("api/v1/", include("annotation.api.urls")),
    path("api/v1/", include("leaderboard.api_urls")),
    path("api/v1/", include("exports.api_urls")),
    path("api/v1/", include("drive.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file of its own (?script), not
    # inline, so that the page runs under the Content-Security-Policy.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    # For load balancers: no sign-in, no session (SECURE_REDIRECT_EXEMPT keeps it on plain HTTP).
    path("healthz", views.health, name="health"),
]

# Under /api/ errors are JSON (config.views); elsewhere Django's pages (templates/4xx.html).
handler400 = "config.views.bad_request"
handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"
