from django.contrib.auth.decorators import login_required
from django.urls import path

from . import views

app_name = "storefront"

urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("products/<str:sku>/", views.product_detail, name="product"),
    path("cart/", views.cart_detail, name="cart"),
    path("cart/add/<str:sku>/", views.cart_add, name="cart-add"),
    path("cart/update/<str:sku>/", views.cart_update, name="cart-update"),
    path("cart/remove/<str:sku>/", views.cart_remove, name="cart-remove"),
    path("checkout/", views.checkout, name="checkout"),
    # A guest's private link: the order's access token is the only key.
    path("orders/<str:token>/", views.order_detail, name="guest-order"),
    path("orders/<str:token>/pay/", views.order_pay, name="guest-order-pay"),
    path("orders/<str:token>/cancel/", views.order_cancel, name="guest-order-cancel"),
    path("account/orders/", views.account_orders, name="account-orders"),
    path("account/orders/<str:number>/", login_required(views.order_detail), name="account-order"),
    path("account/orders/<str:number>/pay/", login_required(views.order_pay), name="account-order-pay"),
    path("account/orders/<str:number>/cancel/", login_required(views.order_cancel), name="account-order-cancel"),
]
