from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from annotation.urls import account_urlpatterns

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="annotation:category_list"), name="home"),
    path("", include("annotation.urls")),
    path("", include("leaderboard.urls")),
    path("", include("quality.urls")),
    path("", include("exports.urls")),
    *account_urlpatterns,
    path("api/v1/", include("annotation.api.urls")),
    path("api/v1/", include("leaderboard.api_urls")),
    path("api/v1/", include("exports.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]
