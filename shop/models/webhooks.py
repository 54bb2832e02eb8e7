import secrets
import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

WEBHOOK_EVENTS = [
    ("order.created", "Order created"),
    ("order.paid", "Order paid"),
    ("order.payment_failed", "Payment failed"),
    ("order.cancelled", "Order cancelled"),
    ("order.refunded", "Order refunded"),
    ("order.completed", "Order completed"),
]


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """An integration's URL that receives signed notifications of the events it subscribed to."""

    url = models.URLField(max_length=500)
    events = models.JSONField(default=list, help_text="Event names this endpoint receives.")
    secret = models.CharField(max_length=100, default=new_webhook_secret)
    is_active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return self.url

    def receives(self, event: str) -> bool:
        return self.is_active and event in self.events


class WebhookDelivery(models.Model):
    """One event sent (or to be sent) to one endpoint, with every attempt's outcome."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        SUCCEEDED = "SUCCEEDED", "Succeeded"
        FAILED = "FAILED", "Failed"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event = models.CharField(max_length=40)
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    next_retry_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "created_at"], name="webhookdelivery_status_idx")]

    def __str__(self):
        return f"{self.event} -> {self.endpoint_id} ({self.status})"
