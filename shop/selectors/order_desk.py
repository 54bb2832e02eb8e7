"""The back office's order desk: filtered, searched, sorted lists of orders in a constant number of queries."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from shop.models import Customer, Order, OrderItem, Payment

SORTS = {
    "newest": ("-created_at", "-pk"),
    "oldest": ("created_at", "pk"),
    "total_desc": ("-total", "-pk"),
    "total_asc": ("total", "pk"),
    "number": ("number",),
    "status": ("status", "-created_at", "-pk"),
}


@dataclass(frozen=True)
class OrderDeskFilters:
    statuses: list[str] = field(default_factory=list)
    payment_status: str = ""
    payment_method: str = ""
    created_from: date | None = None
    created_to: date | None = None
    search: str = ""
    sort: str = "newest"


def order_desk(filters: OrderDeskFilters) -> QuerySet[Order]:
    """Orders with their customer and (in `attempts`, newest first) their payment attempts.

    The latest attempt's status and method are computed per row only when a filter needs them: a subquery in
    the select list would also run for every row an OFFSET skips.
    """
    attempts = Prefetch("payments", queryset=Payment.objects.order_by("-created_at", "-pk"), to_attr="attempts")
    orders = Order.objects.select_related("customer").prefetch_related(attempts)
    if filters.statuses:
        orders = orders.filter(status__in=filters.statuses)
    if filters.payment_status or filters.payment_method:
        latest_payment = Payment.objects.filter(order=OuterRef("pk")).order_by("-created_at", "-pk")
        orders = orders.alias(
            latest_payment_status=Subquery(latest_payment.values("status")[:1]),
            latest_payment_method=Subquery(latest_payment.values("method")[:1]),
        )
    if filters.payment_status:
        orders = orders.filter(latest_payment_status=filters.payment_status)
    if filters.payment_method:
        orders = orders.filter(latest_payment_method=filters.payment_method)
    if filters.created_from:
        orders = orders.filter(created_at__gte=_start_of(filters.created_from))
    if filters.created_to and filters.created_to < date.max:
        orders = orders.filter(created_at__lt=_start_of(filters.created_to + timedelta(days=1)))
    if filters.search.strip():
        orders = orders.filter(_search(filters.search.strip()))
    return orders.order_by(*SORTS.get(filters.sort, SORTS["newest"]))


def _search(text: str) -> Q:
    """Order number, customer email or name (any part, any case), or a SKU on one of its lines.

    Every branch is a condition on the order row itself (no join in the OR), so PostgreSQL can answer each
    from its own index and combine them.
    """
    customers = Customer.objects.filter(Q(email__icontains=text) | Q(name__icontains=text)).values("pk")
    with_sku = OrderItem.objects.filter(product_sku__iexact=text).values("order_id")
    return Q(number__icontains=text) | Q(customer_id__in=Subquery(customers)) | Q(pk__in=Subquery(with_sku))


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
