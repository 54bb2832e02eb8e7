from django.contrib import admin

from shop.models import Customer, Order, OrderEvent, OrderItem, Payment, Product, Refund


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "price", "stock", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["sku", "name"]

    def get_readonly_fields(self, request, obj=None):
        # Stock of an existing product moves only through orders and recorded adjustments.
        return ["stock"] if obj else []


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["email", "name", "phone", "user", "created_at"]
    search_fields = ["email", "name"]
    raw_id_fields = ["user"]


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OrderItemInline(ReadOnlyInline):
    model = OrderItem


class PaymentInline(ReadOnlyInline):
    model = Payment
    exclude = ["idempotency_key"]


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent


class ServiceOnlyAdmin(admin.ModelAdmin):
    """Read-only: these rows change only through `shop.services` (the back office), never by editing."""

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(Order)
class OrderAdmin(ServiceOnlyAdmin):
    list_display = ["number", "customer", "status", "total", "refunded_amount", "created_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["number", "customer__email"]
    list_select_related = ["customer"]
    inlines = [OrderItemInline, PaymentInline, OrderEventInline]


@admin.register(Refund)
class RefundAdmin(ServiceOnlyAdmin):
    list_display = ["payment", "amount", "status", "created_by", "created_at"]
    list_filter = ["status"]
