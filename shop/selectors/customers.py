from django.db.models import Count, Q, QuerySet, Sum

from shop.models import Customer


def customers_with_order_counts() -> QuerySet[Customer]:
    return Customer.objects.annotate(order_count=Count("orders")).order_by("-created_at", "-pk")


def search_customers(customers: QuerySet[Customer], text: str) -> QuerySet[Customer]:
    text = text.strip()
    if not text:
        return customers
    return customers.filter(Q(email__icontains=text) | Q(name__icontains=text) | Q(phone__icontains=text))


def customer_orders_with_totals(customer: Customer):
    """The customer's orders, newest first, and their count, total spent and total refunded."""
    orders = customer.orders.order_by("-created_at", "-pk")
    totals = orders.aggregate(count=Count("pk"), spent=Sum("total"), refunded=Sum("refunded_amount"))
    return orders, totals
