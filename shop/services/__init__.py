"""The only code that changes orders, payments and stock. See DESIGN.md."""

from .actors import Actor
from .customers import get_or_create_guest_customer
from .orders import Contact, OrderLine, cancel_order, complete_order, create_order, release_expired_orders
from .payments import process_payment, reconcile_payments, settle_payment
from .refunds import refund_order

__all__ = [
    "Actor",
    "Contact",
    "OrderLine",
    "cancel_order",
    "complete_order",
    "create_order",
    "get_or_create_guest_customer",
    "process_payment",
    "reconcile_payments",
    "refund_order",
    "release_expired_orders",
    "settle_payment",
]
