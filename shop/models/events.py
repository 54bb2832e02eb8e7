from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from .orders import Order, OrderStatus


class ActorKind(models.TextChoices):
    STAFF = "STAFF", "Staff"
    CUSTOMER = "CUSTOMER", "Customer"
    GUEST = "GUEST", "Guest"
    SYSTEM = "SYSTEM", "System"


class OrderEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("Order events are append-only.")

    def delete(self):
        raise TypeError("Order events are append-only.")


class OrderEvent(models.Model):
    """One line of an order's audit trail: who changed what, when. Rows are only ever added.

    On PostgreSQL a trigger (migration 0002) also refuses UPDATE and DELETE, whatever the client.
    """

    ActorKind = ActorKind

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=40)
    actor_kind = models.CharField(max_length=8, choices=ActorKind.choices)
    # No database constraint: the trail is never rewritten, not even to forget a deleted user
    # (the label keeps who it was).
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_label = models.CharField(max_length=254, blank=True)
    from_status = models.CharField(max_length=12, choices=OrderStatus.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=OrderStatus.choices, blank=True)
    message = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrderEventQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["order", "created_at"], name="orderevent_order_created_idx"),
            models.Index(fields=["kind", "created_at"], name="orderevent_kind_created_idx"),
        ]

    def __str__(self):
        return f"{self.order_id} {self.kind}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("Order events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Order events are append-only.")
