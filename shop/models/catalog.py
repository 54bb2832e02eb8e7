from django.conf import settings
from django.db import models

from .fields import MoneyField


class Product(models.Model):
    """A thing the shop sells. `stock` counts units not yet reserved by an order."""

    sku = models.CharField("SKU", max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    price = MoneyField()
    stock = models.IntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(stock__gte=0), name="product_stock_not_negative"),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="product_price_not_negative"),
        ]
        indexes = [models.Index(fields=["is_active", "name"], name="product_active_name_idx")]
        permissions = [("adjust_stock", "Can adjust stock with a reason")]

    def __str__(self):
        return f"{self.sku} {self.name}"

    @property
    def in_stock(self) -> bool:
        return self.stock > 0


class StockAdjustment(models.Model):
    """A manual change of a product's stock by staff, with its reason: counted stock, damage, a delivery."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stock_adjustments")
    delta = models.IntegerField()
    stock_after = models.IntegerField()
    reason = models.CharField(max_length=255)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(delta=0), name="stockadjustment_delta_not_zero"),
            models.CheckConstraint(condition=models.Q(stock_after__gte=0), name="stockadjustment_stock_not_negative"),
        ]

    def __str__(self):
        return f"{self.product_id} {self.delta:+d}"
