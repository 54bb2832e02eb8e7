from django.db import models

from .orders import Order


class CheckoutSubmission(models.Model):
    """The one-time key a checkout form carried, and the order it placed.

    Written in the same transaction as the order, under a unique key: a double click, a resubmission or a
    second tab sending the same form finds the order the first submission placed instead of placing another.
    """

    key = models.UUIDField(unique=True)
    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="checkout_submission")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.key} -> {self.order_id}"
