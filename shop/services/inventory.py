"""Stock moves by F() expressions on locked rows; the CHECK constraint (stock >= 0) is the last guard."""

from django.db.models import Case, F, When
from django.utils import timezone

from shop.locks import lock_products_by_id
from shop.models import OrderItem, Product


def take_stock(quantities: dict[int, int]) -> None:
    """Reserve units of locked products, one UPDATE whatever the number of products."""
    _move_stock({product_id: -quantity for product_id, quantity in quantities.items()})


def release_stock(items: list[OrderItem]) -> None:
    """Put an order's units back on the shelf (cancel, expiry, refund with restock)."""
    quantities: dict[int, int] = {}
    for item in items:
        if item.product_id is not None:
            quantities[item.product_id] = quantities.get(item.product_id, 0) + item.quantity
    if quantities:
        lock_products_by_id(quantities)
        _move_stock(quantities)


def _move_stock(deltas: dict[int, int]) -> None:
    Product.objects.filter(pk__in=deltas).update(
        stock=Case(
            *(When(pk=product_id, then=F("stock") + delta) for product_id, delta in deltas.items()),
            default=F("stock"),
        ),
        updated_at=timezone.now(),
    )
