from django.db.models import Prefetch, Q, QuerySet

from shop.models import Order, OrderEvent, Payment, Refund
from shop.models.orders import digest_access_token


def orders_with_details() -> QuerySet[Order]:
    """Orders with customer, items, payments and their refunds: a constant number of queries per page."""
    payments = Payment.objects.order_by("created_at", "pk").prefetch_related(
        Prefetch("refunds", queryset=Refund.objects.order_by("created_at", "pk"))
    )
    return Order.objects.select_related("customer").prefetch_related("items", Prefetch("payments", queryset=payments))


def orders_visible_to(user, *, order_token: str = "", details: bool = True) -> QuerySet[Order]:
    """Staff see every order; a customer their own; anyone holding an order's access token that order.

    With `details`, items, payments and refunds come along (for showing the order); without, only the customer
    (for checking access before an action, which reloads the order afterwards anyway).
    """
    orders = orders_with_details() if details else Order.objects.select_related("customer")
    if user is not None and user.is_authenticated and user.is_staff:
        return orders
    visible = Q(pk__in=[])
    if user is not None and user.is_authenticated:
        visible |= Q(customer__user=user)
    if order_token:
        visible |= Q(access_token_digest=digest_access_token(order_token))
    return orders.filter(visible)


def search_orders(orders: QuerySet[Order], text: str) -> QuerySet[Order]:
    """By order number (any part, any case) or the customer's email."""
    text = text.strip()
    if not text:
        return orders
    return orders.filter(Q(number__icontains=text) | Q(customer__email__icontains=text))


def order_events(order: Order) -> QuerySet[OrderEvent]:
    return order.events.order_by("created_at", "pk")


def order_by_token(token: str) -> Order | None:
    """The order a guest's private link opens, or None."""
    if not token:
        return None
    return orders_with_details().filter(access_token_digest=digest_access_token(token)).first()


def customer_order(user, number: str) -> Order | None:
    """A signed-in customer's own order by number, or None (someone else's order is not found either)."""
    return orders_with_details().filter(customer__user=user, number=number).first()


def customer_orders(user) -> QuerySet[Order]:
    return Order.objects.filter(customer__user=user).order_by("-created_at", "-pk")


def payments_by_status(status: str = "") -> QuerySet[Payment]:
    """Payment attempts, newest first, with their order; only those in `status` when given."""
    payments = Payment.objects.select_related("order").order_by("-created_at", "-pk")
    return payments.filter(status=status) if status else payments


def decline_code_of(payment: Payment) -> str:
    """The gateway's reason code for a failed attempt, as its `payment.failed` event recorded it."""
    event = payment.order.events.filter(kind="payment.failed", data__payment_id=payment.pk).last()
    return (event.data or {}).get("decline_code", "") if event else ""
