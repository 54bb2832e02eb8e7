from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from shop.docs import RedocView
from shop.health import healthz, readyz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("shop.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/swagger/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("docs/", RedocView.as_view(url_name="schema"), name="redoc"),
    path("accounts/", include("allauth.urls")),
    path("backoffice/", include("shop.backoffice.urls")),
    path("", include("shop.storefront.urls")),
]
