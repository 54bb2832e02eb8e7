"""Every row lock the services take, in one place.

Rules (see DESIGN.md): lock inside a transaction, rows of one table ordered by primary key, tables always
in the same order: orders, then payments, then refunds, then products. Followed everywhere, two
transactions can wait for each other but never deadlock.
"""

from collections.abc import Iterable

from shop.exceptions import OrderNotFound
from shop.models import Order, Payment, Product, Refund


def lock_order(order_id: int) -> Order:
    try:
        return Order.objects.select_for_update(of=("self",)).get(pk=order_id)
    except Order.DoesNotExist:
        raise OrderNotFound(f"Order {order_id} does not exist.", order_id=order_id) from None


def lock_payments_of(order: Order) -> list[Payment]:
    return list(Payment.objects.select_for_update(of=("self",)).filter(order=order).order_by("pk"))


def lock_payment(payment_id: int) -> Payment:
    return Payment.objects.select_for_update(of=("self",)).get(pk=payment_id)


def lock_refund(refund_id: int) -> Refund:
    return Refund.objects.select_for_update(of=("self",)).get(pk=refund_id)


def lock_products_by_sku(skus: Iterable[str]) -> list[Product]:
    return list(Product.objects.select_for_update(of=("self",)).filter(sku__in=list(skus)).order_by("pk"))


def lock_products_by_id(product_ids: Iterable[int]) -> list[Product]:
    return list(Product.objects.select_for_update(of=("self",)).filter(pk__in=list(product_ids)).order_by("pk"))
