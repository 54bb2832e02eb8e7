"""Staff changes to the catalog: price, availability and stock, each with who did it."""

from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from shop.exceptions import InvalidProductChange, InvalidStockAdjustment
from shop.locks import lock_products_by_id
from shop.models import Product, StockAdjustment

from .validation import validated_money

MAX_ADJUSTMENT = 1_000_000


def update_product(*, product_id: int, price: Decimal | str | None = None, is_active: bool | None = None) -> Product:
    """Change the price (orders already placed keep theirs) or whether the product is for sale."""
    changes = {}
    if price is not None:
        price = validated_money(price, field="price")
        if price <= 0:
            raise InvalidProductChange("The price must be above zero.", field="price")
        changes["price"] = price
    if is_active is not None:
        changes["is_active"] = is_active
    with transaction.atomic():
        (product,) = lock_products_by_id([product_id])
        for field, value in changes.items():
            setattr(product, field, value)
        product.save(update_fields=[*changes, "updated_at"])
    return product


def adjust_stock(*, product_id: int, delta: int, reason: str, user=None) -> StockAdjustment:
    """Add (or with a negative `delta` remove) units, recorded with the reason; stock never goes below zero."""
    reason = reason.strip()
    if not reason:
        raise InvalidStockAdjustment("Say why the stock changes.", field="reason")
    if delta == 0 or abs(delta) > MAX_ADJUSTMENT:
        raise InvalidStockAdjustment(f"Adjust by 1 to {MAX_ADJUSTMENT} units, up or down.", field="delta")
    with transaction.atomic():
        (product,) = lock_products_by_id([product_id])
        if product.stock + delta < 0:
            raise InvalidStockAdjustment(
                f"Only {product.stock} of {product.name} in stock: it cannot go down by {-delta}.",
                field="delta",
                stock=product.stock,
            )
        Product.objects.filter(pk=product.pk).update(stock=F("stock") + delta, updated_at=timezone.now())
        return StockAdjustment.objects.create(
            product=product, delta=delta, stock_after=product.stock + delta, reason=reason[:255], created_by=user
        )
