"""create_order: all or nothing, the catalog is the truth, stock is reserved, guests are recognised."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shop.exceptions import (
    InsufficientStock,
    InvalidOrderInput,
    PriceChanged,
    ProductMismatch,
    ProductUnavailable,
)
from shop.models import Customer, Order, OrderEvent, OrderItem, Payment, Product
from shop.services import Contact, OrderLine, create_order
from tests.factories import CustomerFactory, ProductFactory, UserFactory, place_order

pytestmark = pytest.mark.django_db

GUEST = Contact(email="john@example.com", name="John Doe", phone="998901234567")


def _create(items, **overrides):
    fields = {
        "items": items,
        "shipping_address": "123 Main St, Tashkent, Uzbekistan",
        "shipping_cost": "5.00",
        "payment_method": "CREDIT_CARD",
        "guest": GUEST,
    }
    return create_order(**(fields | overrides))


def test_seed_example_order_totals_items_payment_and_first_event(laptop, mouse):
    order = _create(
        [
            OrderLine("LAP-001", 1, expected_unit_price=Decimal("1000.00"), expected_name="Laptop"),
            OrderLine("MOU-001", 2, expected_unit_price=Decimal("25.00"), expected_name="Mouse"),
        ]
    )

    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert (order.subtotal, order.shipping_cost, order.total) == (
        Decimal("1050.00"),
        Decimal("5.00"),
        Decimal("1055.00"),
    )
    assert order.refunded_amount == 0 and order.version == 1 and order.currency == "USD"
    assert [(i.product_sku, i.product_name, i.unit_price, i.quantity, i.line_total) for i in order.items.all()] == [
        ("LAP-001", "Laptop", Decimal("1000.00"), 1, Decimal("1000.00")),
        ("MOU-001", "Mouse", Decimal("25.00"), 2, Decimal("50.00")),
    ]
    payment = order.payments.get()
    assert (payment.status, payment.method, payment.amount) == (
        Payment.Status.PENDING,
        "CREDIT_CARD",
        Decimal("1055.00"),
    )
    event = order.events.get()
    assert (event.kind, event.to_status, event.actor_kind, event.actor_label) == (
        "order.created",
        "PENDING",
        "GUEST",
        "john@example.com",
    )


def test_stock_is_reserved_when_the_order_is_placed(laptop, mouse):
    _create([OrderLine("LAP-001", 3), OrderLine("MOU-001", 10)])

    assert Product.objects.get(pk=laptop.pk).stock == 7
    assert Product.objects.get(pk=mouse.pk).stock == 90


def test_items_are_a_snapshot_that_later_catalog_changes_do_not_touch(laptop):
    order = _create([OrderLine("LAP-001", 1)])
    Product.objects.filter(pk=laptop.pk).update(price=Decimal("1.00"), name="Renamed")

    item = order.items.get()
    assert (item.product_name, item.unit_price) == ("Laptop", Decimal("1000.00"))


def test_access_token_is_returned_once_and_only_its_digest_is_stored(laptop):
    order = _create([OrderLine("LAP-001", 1)])

    stored = Order.objects.get(pk=order.pk)
    assert len(order.access_token) >= 40
    assert order.access_token not in stored.access_token_digest
    assert stored.access_token_matches(order.access_token)
    assert not stored.access_token_matches("guess")


def test_a_guest_ordering_twice_with_the_same_email_in_any_case_is_one_customer(laptop):
    first = _create([OrderLine("LAP-001", 1)], guest=Contact("Jane@Example.com", "Jane"))
    second = _create([OrderLine("LAP-001", 1)], guest=Contact(" jane@example.COM ", "Jane D."))

    assert first.customer_id == second.customer_id
    assert Customer.objects.filter(user__isnull=True).count() == 1
    assert Customer.objects.get().name == "Jane"


def test_a_registered_customer_orders_as_themselves_and_is_recorded_as_customer(laptop):
    user = UserFactory()
    customer = CustomerFactory(user=user, email=user.email)

    order = _create([OrderLine("LAP-001", 1)], guest=None, customer=customer)

    assert order.customer == customer
    event = order.events.get()
    assert (event.actor_kind, event.actor_user) == ("CUSTOMER", user)


def _nothing_changed(products_before: dict[int, int]):
    assert Order.objects.count() == 0
    assert OrderItem.objects.count() == 0
    assert Payment.objects.count() == 0
    assert OrderEvent.objects.count() == 0
    assert Customer.objects.count() == 0
    assert {p.pk: p.stock for p in Product.objects.all()} == products_before


@pytest.mark.parametrize(
    ("lines", "error", "detail"),
    [
        ([OrderLine("LAP-001", 1), OrderLine("MOU-001", 101)], InsufficientStock, "items"),
        ([OrderLine("LAP-001", 1), OrderLine("MOU-001", 1, expected_unit_price=Decimal("20.00"))], PriceChanged, "sku"),
        ([OrderLine("LAP-001", 1, expected_name="Tablet")], ProductMismatch, "current_name"),
        ([OrderLine("LAP-001", 1), OrderLine("NOPE-1", 1)], ProductUnavailable, "sku"),
        ([OrderLine("LAP-001", 0)], InvalidOrderInput, "sku"),
        ([OrderLine("LAP-001", 1), OrderLine("LAP-001", 1)], InvalidOrderInput, "sku"),
        ([OrderLine("LAP-001", 1, expected_unit_price="10.001")], InvalidOrderInput, "field"),
        ([], InvalidOrderInput, "field"),
    ],
    ids=["short-stock", "price-changed", "name-mismatch", "unknown-sku", "zero-qty", "sku-twice", "bad-price", "empty"],
)
def test_a_refused_order_changes_nothing_at_all(laptop, mouse, lines, error, detail):
    before = {p.pk: p.stock for p in Product.objects.all()}

    with pytest.raises(error) as raised:
        _create(lines)

    assert detail in raised.value.details
    _nothing_changed(before)


def test_price_changed_error_names_the_current_price(laptop):
    with pytest.raises(PriceChanged) as raised:
        _create([OrderLine("LAP-001", 1, expected_unit_price=Decimal("999.00"))])

    assert raised.value.details["current_price"] == "1000.00"
    assert raised.value.http_status == 409


def test_insufficient_stock_lists_every_short_line(laptop, mouse):
    with pytest.raises(InsufficientStock) as raised:
        _create([OrderLine("LAP-001", 11), OrderLine("MOU-001", 101)])

    assert raised.value.details["items"] == [
        {"sku": "LAP-001", "requested": 11, "available": 10},
        {"sku": "MOU-001", "requested": 101, "available": 100},
    ]


def test_an_inactive_product_cannot_be_ordered(laptop):
    Product.objects.filter(pk=laptop.pk).update(is_active=False)

    with pytest.raises(ProductUnavailable):
        _create([OrderLine("LAP-001", 1)])


@pytest.mark.parametrize(
    "overrides",
    [
        {"shipping_address": "   "},
        {"payment_method": "GOLD_BARS"},
        {"shipping_cost": "-1.00"},
        {"shipping_cost": "abc"},
        {"guest": Contact(email="", name="No Email")},
        {"guest": None},
    ],
    ids=["no-address", "unknown-method", "negative-shipping", "bad-shipping", "no-email", "no-customer"],
)
def test_invalid_order_fields_are_refused_before_anything_is_written(laptop, overrides):
    with pytest.raises(InvalidOrderInput):
        _create([OrderLine("LAP-001", 1)], **overrides)

    _nothing_changed({laptop.pk: 10})


def test_every_seed_payment_method_is_accepted(laptop):
    for method in ["CREDIT_CARD", "DEBIT_CARD", "PAYPAL", "BANK_TRANSFER", "CASH", "CRYPTOCURRENCY"]:
        order = _create([OrderLine("LAP-001", 1)], payment_method=method)
        assert order.payments.get().method == method


@pytest.mark.parametrize("lines", [1, 5, 25])
def test_create_order_runs_the_same_number_of_queries_whatever_the_number_of_lines(lines):
    products = ProductFactory.create_batch(lines)
    place_order({products[0]: 1})  # the guest customer now exists: each measured order finds it

    with CaptureQueriesContext(connection) as queries:
        place_order(dict.fromkeys(products, 1))

    assert len(queries) == QUERIES_PER_ORDER, "\n".join(q["sql"][:120] for q in queries.captured_queries)


# The transaction (a savepoint under the test's own), guest lookup, product lock, one stock UPDATE,
# savepoint + order insert + release, one items INSERT, payment, event, the "order placed" email task,
# the webhook endpoints lookup, release.
QUERIES_PER_ORDER = 13
