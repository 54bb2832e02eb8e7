"""Stock and checkout under real concurrency: threads behind a barrier, one PostgreSQL connection each.

The last units are sold exactly once, orders that lock the same products in opposite order never
deadlock, simultaneous guest checkouts with one email make one customer, and expiry run from several
processes at once releases each order's stock exactly once.
"""

from collections import Counter
from datetime import timedelta
from decimal import Decimal
from functools import partial

import pytest
from django.db.models import Sum

from shop.exceptions import InsufficientStock
from shop.models import Customer, Order, OrderEvent, OrderItem, Payment, Product
from shop.services import Contact, OrderLine, create_order, release_expired_orders
from tests.concurrency.race import race
from tests.factories import CustomerFactory, ProductFactory, place_order

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]


def _stock(product: Product) -> int:
    return Product.objects.get(pk=product.pk).stock


def _buy(product_quantities: list[tuple[Product, int]], *, customer=None, email: str = "") -> Order:
    return create_order(
        items=[OrderLine(sku=product.sku, quantity=quantity) for product, quantity in product_quantities],
        shipping_address="1 Race Street",
        payment_method="CREDIT_CARD",
        customer=customer,
        guest=None if customer else Contact(email=email, name="Racer"),
    )


def test_twenty_buyers_racing_for_the_last_five_units_buy_exactly_five():
    product = ProductFactory(price=Decimal("15.00"), stock=5)

    result = race(*[partial(_buy, [(product, 1)], email=f"buyer{i}@example.com") for i in range(20)])

    assert len(result.values) == 5
    assert len(result.errors) == 15
    assert all(isinstance(error, InsufficientStock) for error in result.errors), result.errors
    assert _stock(product) == 0
    assert Order.objects.count() == 5
    assert {order.pk for order in result.values} == set(Order.objects.values_list("pk", flat=True))
    assert OrderItem.objects.aggregate(sold=Sum("quantity"))["sold"] == 5
    assert Payment.objects.count() == 5
    assert OrderEvent.objects.filter(kind="order.created").count() == 5
    # All or nothing: a losing checkout leaves not even its guest customer behind.
    assert Customer.objects.count() == 5


def test_buyers_of_several_units_never_oversell_a_product():
    product = ProductFactory(stock=10)

    result = race(*[partial(_buy, [(product, 3)], email=f"bulk{i}@example.com") for i in range(12)])

    assert len(result.values) == 3
    assert all(isinstance(error, InsufficientStock) for error in result.errors), result.errors
    assert _stock(product) == 1
    assert OrderItem.objects.aggregate(sold=Sum("quantity"))["sold"] == 9


def test_orders_locking_the_same_products_in_opposite_order_never_deadlock():
    p1, p2, p3 = (ProductFactory(stock=1000) for _ in range(3))
    customer = CustomerFactory()
    forward = [(p1, 1), (p2, 2), (p3, 3)]
    backward = list(reversed(forward))
    rounds, racers_per_direction = 10, 3

    for _round in range(rounds):
        result = race(
            *[partial(_buy, forward, customer=customer)] * racers_per_direction,
            *[partial(_buy, backward, customer=customer)] * racers_per_direction,
        )
        assert not result.errors, result.errors  # in particular no psycopg OperationalError "deadlock detected"

    orders = rounds * racers_per_direction * 2
    assert Order.objects.count() == orders
    assert (_stock(p1), _stock(p2), _stock(p3)) == (1000 - orders, 1000 - 2 * orders, 1000 - 3 * orders)
    sold = dict(OrderItem.objects.values_list("product_id").annotate(Sum("quantity")))
    assert sold == {p1.pk: orders, p2.pk: 2 * orders, p3.pk: 3 * orders}


def test_simultaneous_guest_checkouts_with_one_new_email_in_any_case_make_one_guest():
    product = ProductFactory(stock=100)
    emails = ["casey@example.com", "Casey@Example.com", "CASEY@EXAMPLE.COM", "casey@EXAMPLE.com"] * 3

    result = race(*[partial(_buy, [(product, 1)], email=email) for email in emails])

    assert not result.errors, result.errors
    guests = Customer.objects.filter(user__isnull=True, email__iexact="casey@example.com")
    assert guests.count() == 1
    assert Customer.objects.count() == 1
    guest = guests.get()
    assert Order.objects.count() == len(emails)
    assert set(Order.objects.values_list("customer_id", flat=True)) == {guest.pk}
    assert _stock(product) == 100 - len(emails)


def test_expiry_run_from_several_processes_at_once_releases_each_order_exactly_once(system):
    p1, p2 = ProductFactory(stock=100), ProductFactory(stock=100)
    orders = [place_order({p1: 1 + i % 3, p2: 2}, email=f"late{i}@example.com") for i in range(10)]
    assert (_stock(p1), _stock(p2)) == (100 - 19, 80)

    result = race(*[partial(release_expired_orders, older_than=timedelta(0), actor=system)] * 4)

    assert not result.errors, result.errors
    released = Counter(number for numbers in result.values for number in numbers)
    assert released == Counter({order.number: 1 for order in orders}), "each order released by exactly one run"
    assert (_stock(p1), _stock(p2)) == (100, 100)
    assert set(Order.objects.values_list("status", flat=True)) == {Order.Status.CANCELLED}
    cancelled = Counter(OrderEvent.objects.filter(kind="order.cancelled").values_list("order_id", flat=True))
    assert cancelled == Counter({order.pk: 1 for order in orders})
    assert set(Payment.objects.values_list("status", flat=True)) == {Payment.Status.FAILED}
    for order in orders:
        order.refresh_from_db()
        assert order.version == 2  # created, cancelled
