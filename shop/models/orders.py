import hashlib
import hmac
import secrets

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper

from .customers import Customer
from .fields import MoneyField

# Crockford's base32 without I, L, O, U: order numbers read aloud over the phone without confusion.
_NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class OrderStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    PROCESSING = "PROCESSING", "Processing"
    CONFIRMED = "CONFIRMED", "Confirmed"
    COMPLETED = "COMPLETED", "Completed"
    CANCELLED = "CANCELLED", "Cancelled"
    FAILED = "FAILED", "Failed"
    REFUNDED = "REFUNDED", "Refunded"


# The order state machine: every transition the service may make, and no other.
ORDER_TRANSITIONS: dict[str, frozenset[str]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.PROCESSING, OrderStatus.CANCELLED}),
    OrderStatus.FAILED: frozenset({OrderStatus.PROCESSING, OrderStatus.CANCELLED}),
    OrderStatus.PROCESSING: frozenset({OrderStatus.CONFIRMED, OrderStatus.FAILED}),
    OrderStatus.CONFIRMED: frozenset({OrderStatus.COMPLETED, OrderStatus.CANCELLED, OrderStatus.REFUNDED}),
    OrderStatus.COMPLETED: frozenset({OrderStatus.REFUNDED}),
    OrderStatus.CANCELLED: frozenset(),
    OrderStatus.REFUNDED: frozenset(),
}


def new_order_number() -> str:
    return "ORD-" + "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(10))


def digest_access_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Order(models.Model):
    """A customer's order. Changed only through `shop.services`; `version` rises with every change."""

    Status = OrderStatus

    number = models.CharField(max_length=20, unique=True, default=new_order_number, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=12, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    subtotal = MoneyField()
    shipping_cost = MoneyField(default=0)
    total = MoneyField()
    refunded_amount = MoneyField(default=0)
    currency = models.CharField(max_length=3, default="USD")
    shipping_address = models.TextField()
    version = models.PositiveIntegerField(default=1)
    # Only a digest is stored: the token itself is handed to the guest once, when the order is created.
    access_token_digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        # What back-office roles may do besides viewing (see the Support and Finance groups, migration 0006).
        permissions = [
            ("take_payment", "Can take payment for an order"),
            ("cancel_order", "Can cancel an order"),
            ("complete_order", "Can mark an order fulfilled"),
            ("refund_order", "Can refund an order"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total=F("subtotal") + F("shipping_cost")), name="order_total_sum"),
            models.CheckConstraint(condition=Q(subtotal__gte=0), name="order_subtotal_not_negative"),
            models.CheckConstraint(condition=Q(shipping_cost__gte=0), name="order_shipping_not_negative"),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0, refunded_amount__lte=F("total")),
                name="order_refunded_within_total",
            ),
            models.CheckConstraint(condition=Q(status__in=OrderStatus.values), name="order_status_valid"),
            models.CheckConstraint(condition=Q(version__gte=1), name="order_version_positive"),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="order_status_created_idx"),
            models.Index(fields=["customer", "created_at"], name="order_customer_created_idx"),
            models.Index(fields=["created_at"], name="order_created_idx"),
        ]

    def __str__(self):
        return self.number

    def can_transition_to(self, status: str) -> bool:
        return status in ORDER_TRANSITIONS[self.status]

    @property
    def can_be_paid(self) -> bool:
        return self.can_transition_to(OrderStatus.PROCESSING)

    @property
    def can_be_cancelled(self) -> bool:
        return self.can_transition_to(OrderStatus.CANCELLED)

    def set_access_token(self, token: str | None = None) -> str:
        """Give the order a secret access token (a fresh random one by default); return it (only its digest is
        stored)."""
        token = token or secrets.token_urlsafe(32)
        self.access_token_digest = digest_access_token(token)
        return token

    def access_token_matches(self, token: str) -> bool:
        return hmac.compare_digest(self.access_token_digest, digest_access_token(token or ""))

    @property
    def refundable_amount(self):
        return self.total - self.refunded_amount


class OrderItem(models.Model):
    """One line of an order, with the product as it was when the order was placed."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey("shop.Product", null=True, on_delete=models.SET_NULL, related_name="order_items")
    product_sku = models.CharField("SKU", max_length=64)
    product_name = models.CharField(max_length=200)
    unit_price = MoneyField()
    quantity = models.PositiveIntegerField()
    line_total = MoneyField()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orderitem_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="orderitem_price_not_negative"),
            models.CheckConstraint(
                condition=Q(line_total=F("unit_price") * F("quantity")), name="orderitem_line_total_product"
            ),
            models.UniqueConstraint(fields=["order", "product_sku"], name="orderitem_unique_sku_per_order"),
        ]
        # The back office finds orders by SKU in any case (iexact compares UPPER() on PostgreSQL).
        indexes = [models.Index(Upper("product_sku"), name="orderitem_sku_upper_idx")]

    def __str__(self):
        return f"{self.quantity} x {self.product_sku}"
