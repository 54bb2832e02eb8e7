from django.db import models

from .fields import MoneyField


class SandboxTransaction(models.Model):
    """The fake payment gateway's own ledger, kept in the database so every process sees the same gateway.

    It stands for the provider's side of the world: the shop's tables never read it, only the fake gateway.
    """

    class Kind(models.TextChoices):
        CHARGE = "CHARGE", "Charge"
        REFUND = "REFUND", "Refund"

    kind = models.CharField(max_length=6, choices=Kind.choices)
    idempotency_key = models.CharField(max_length=64, unique=True)
    reference = models.CharField(max_length=64, unique=True)
    charge_reference = models.CharField(max_length=64, blank=True)
    amount = MoneyField()
    currency = models.CharField(max_length=3)
    succeeded = models.BooleanField()
    # The test token's outcome the charge was made with; refunds on the charge follow it too.
    scenario = models.CharField(max_length=40, blank=True)
    decline_code = models.CharField(max_length=40, blank=True)
    message = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.kind} {self.reference}"
