from django.urls import path

from . import views, webhooks

app_name = "backoffice"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("orders/", views.order_list, name="orders"),
    path("orders/export.csv", views.order_export, name="orders-export"),
    path("orders/<str:number>/", views.order_detail, name="order"),
    path("orders/<str:number>/pay/", views.order_pay, name="order-pay"),
    path("orders/<str:number>/cancel/", views.order_cancel, name="order-cancel"),
    path("orders/<str:number>/complete/", views.order_complete, name="order-complete"),
    path("orders/<str:number>/refund/", views.order_refund, name="order-refund"),
    path("customers/", views.customer_list, name="customers"),
    path("customers/<int:pk>/", views.customer_detail, name="customer"),
    path("products/", views.product_list, name="products"),
    path("products/<int:pk>/", views.product_detail, name="product"),
    path("products/<int:pk>/update/", views.product_update, name="product-update"),
    path("products/<int:pk>/stock/", views.product_adjust_stock, name="product-stock"),
    path("payments/", views.payment_list, name="payments"),
    path("webhooks/", webhooks.endpoint_list, name="webhooks"),
    path("webhooks/<int:pk>/", webhooks.endpoint_detail, name="webhook"),
    path("webhooks/deliveries/<int:pk>/retry/", webhooks.delivery_retry, name="webhook-retry"),
]
