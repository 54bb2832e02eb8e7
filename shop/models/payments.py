import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from .fields import MoneyField
from .orders import Order


class PaymentMethod(models.TextChoices):
    CREDIT_CARD = "CREDIT_CARD", "Credit card"
    DEBIT_CARD = "DEBIT_CARD", "Debit card"
    PAYPAL = "PAYPAL", "PayPal"
    BANK_TRANSFER = "BANK_TRANSFER", "Bank transfer"
    CASH = "CASH", "Cash"
    CRYPTOCURRENCY = "CRYPTOCURRENCY", "Cryptocurrency"


class PaymentStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    PROCESSING = "PROCESSING", "Processing"
    COMPLETED = "COMPLETED", "Completed"
    FAILED = "FAILED", "Failed"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED", "Partially refunded"
    REFUNDED = "REFUNDED", "Refunded"


CAPTURED_PAYMENT_STATUSES = (PaymentStatus.COMPLETED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)


class Payment(models.Model):
    """One attempt to take an order's money. A failed attempt stays; a retry is a new attempt."""

    Status = PaymentStatus
    Method = PaymentMethod

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(max_length=16, choices=PaymentMethod.choices)
    status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    amount = MoneyField()
    refunded_amount = MoneyField(default=0)
    currency = models.CharField(max_length=3, default="USD")
    gateway = models.CharField(max_length=32, blank=True)
    gateway_transaction_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    failure_reason = models.CharField(max_length=255, blank=True)
    # Sent with every gateway call for this attempt, so a repeated call can never charge twice.
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    processing_started_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0, refunded_amount__lte=F("amount")),
                name="payment_refunded_within_amount",
            ),
            models.CheckConstraint(condition=Q(status__in=PaymentStatus.values), name="payment_status_valid"),
            models.CheckConstraint(condition=Q(method__in=PaymentMethod.values), name="payment_method_valid"),
            # At most one attempt per order that is not FAILED: an order can never be charged twice.
            models.UniqueConstraint(
                fields=["order"], condition=~Q(status=PaymentStatus.FAILED), name="payment_one_live_per_order"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "processing_started_at"], name="payment_status_started_idx"),
            models.Index(fields=["status", "created_at"], name="payment_status_created_idx"),
        ]

    def __str__(self):
        return f"{self.order.number} {self.amount} {self.status}"

    @property
    def is_captured(self) -> bool:
        return self.status in CAPTURED_PAYMENT_STATUSES


class RefundStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    SUCCEEDED = "SUCCEEDED", "Succeeded"
    FAILED = "FAILED", "Failed"


class Refund(models.Model):
    """Money given back on a captured payment; several partial refunds add up to at most the amount."""

    Status = RefundStatus

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = MoneyField()
    reason = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    # A cancel of a paid order refunds the rest and then cancels; a refund may also put the stock back.
    cancels_order = models.BooleanField(default=False)
    restock = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    gateway_reference = models.CharField(max_length=100, null=True, blank=True, unique=True)
    failure_reason = models.CharField(max_length=255, blank=True)
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(condition=Q(status__in=RefundStatus.values), name="refund_status_valid"),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="refund_status_created_idx")]

    def __str__(self):
        return f"Refund {self.amount} of {self.payment_id} ({self.status})"
