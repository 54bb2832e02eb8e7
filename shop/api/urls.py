from django.urls import path
from rest_framework.routers import DefaultRouter

from shop.api.views.auth import LoginView, LogoutView, RefreshView, RegisterView
from shop.api.views.customers import CustomerViewSet, ProfileView
from shop.api.views.orders import OrderViewSet

app_name = "api"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("customers", CustomerViewSet, basename="customer")
router.register("orders", OrderViewSet, basename="order")

urlpatterns = [
    path("auth/register/", RegisterView.as_view(), name="register"),
    path("auth/login/", LoginView.as_view(), name="login"),
    path("auth/logout/", LogoutView.as_view(), name="logout"),
    path("auth/refresh/", RefreshView.as_view(), name="token-refresh"),
    path("profile/", ProfileView.as_view(), name="profile"),
    *router.urls,
]
