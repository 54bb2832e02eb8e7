from django.db.models import Count, Q, QuerySet

from shop.models import Customer


def customers_with_order_counts() -> QuerySet[Customer]:
    return Customer.objects.annotate(order_count=Count("orders")).order_by("-created_at", "-pk")


def search_customers(customers: QuerySet[Customer], text: str) -> QuerySet[Customer]:
    text = text.strip()
    if not text:
        return customers
    return customers.filter(Q(email__icontains=text) | Q(name__icontains=text) | Q(phone__icontains=text))
