from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView

from flownally_admin.api import views as api_views

api_v1 = [
    path("", include("tags.urls")),
    path("", include("customfields.urls")),
    path("", include("exports.urls")),
    path("", include("contacts.urls")),
    path("", include("events.urls")),
    path("", include("webhooks.urls")),
    path(
        "openapi.json",
        SpectacularJSONAPIView.as_view(authentication_classes=[], permission_classes=[]),
        name="openapi",
    ),
    path(
        "docs",
        SpectacularSwaggerView.as_view(
            url_name="openapi", authentication_classes=[], permission_classes=[]
        ),
        name="api-docs",
    ),
    re_path(r"^.*$", api_views.UnknownRouteView.as_view()),
]

urlpatterns = [
    path("v1/", include(api_v1)),
    path("healthz", api_views.healthz, name="healthz"),
    path("readyz", api_views.readyz, name="readyz"),
    path("problems/<slug:code>", api_views.problem_type_page, name="problem-type"),
    path("admin/", admin.site.urls),
]

handler500 = "flownally_admin.api.views.server_error"
