from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.common.health import healthz
from apps.pipeline.views import metrics

api_v1 = [
    path("", include("apps.ingestion.api.urls")),
    path("", include("apps.correlation.api.urls")),
    path("", include("apps.exceptions.api.urls")),
    path("", include("apps.sla.api.urls")),
    path("", include("apps.finance.api.urls")),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script from a URL of its own: no inline script (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("apps.accounts.urls")),
    path("", include("apps.ingestion.urls")),
    path("", include("apps.correlation.urls")),
    path("", include("apps.sla.urls")),
    path("", include("apps.finance.urls")),
    path("", include("apps.dashboard.urls")),
    path("", include("apps.exceptions.urls")),
    path("", include("apps.onboarding.urls")),
]

handler404 = "apps.common.views.not_found"
handler403 = "apps.common.views.forbidden"
handler500 = "apps.common.views.server_error"
