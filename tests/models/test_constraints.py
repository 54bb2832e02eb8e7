"""The database itself refuses rows that break the shop's invariants, whatever the Python code does.

Every write here bypasses the services (queryset `.update()`, plain `.create()` or raw SQL), so only the
CHECK and UNIQUE constraints stand between the bad value and the table.
"""

from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F

from shop.models import Customer, Order, OrderItem, Payment, PaymentMethod, Product, Refund
from tests.factories import CustomerFactory, ProductFactory, UserFactory, place_order

pytestmark = pytest.mark.django_db


@contextmanager
def refused_by(constraint: str):
    """Expect the database to raise IntegrityError naming `constraint`; the savepoint keeps the test usable."""
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        yield


def _payment_of(order: Order) -> Payment:
    return order.payments.get()


# --- Product --------------------------------------------------------------------------------------


def test_product_stock_cannot_go_below_zero(laptop):
    with refused_by("product_stock_not_negative"):
        Product.objects.filter(pk=laptop.pk).update(stock=F("stock") - 11)
    laptop.refresh_from_db()
    assert laptop.stock == 10


def test_product_stock_may_be_exactly_zero(laptop):
    Product.objects.filter(pk=laptop.pk).update(stock=0)
    laptop.refresh_from_db()
    assert laptop.stock == 0


def test_a_raw_insert_of_a_product_with_negative_stock_is_refused():
    with refused_by("product_stock_not_negative"), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO shop_product (sku, name, description, price, stock, is_active, created_at, updated_at)"
            " VALUES ('RAW-1', 'Raw', '', 1.00, -1, true, now(), now())"
        )
    assert not Product.objects.filter(sku="RAW-1").exists()


def test_product_price_cannot_be_negative():
    product = ProductFactory(price=Decimal("5.00"))
    with refused_by("product_price_not_negative"):
        Product.objects.filter(pk=product.pk).update(price=Decimal("-0.01"))


def test_two_products_cannot_share_a_sku():
    ProductFactory(sku="DUP-001")
    with refused_by("sku"):
        ProductFactory(sku="DUP-001")
    assert Product.objects.filter(sku="DUP-001").count() == 1


# --- Order ----------------------------------------------------------------------------------------


def test_order_total_must_equal_subtotal_plus_shipping(order):
    with refused_by("order_total_sum"):
        Order.objects.filter(pk=order.pk).update(total=F("total") - Decimal("0.01"))
    with refused_by("order_total_sum"):
        Order.objects.filter(pk=order.pk).update(shipping_cost=F("shipping_cost") + Decimal("1.00"))


def test_order_total_may_change_together_with_its_parts(order):
    Order.objects.filter(pk=order.pk).update(shipping_cost=Decimal("0.00"), total=F("subtotal"))
    order.refresh_from_db()
    assert order.total == order.subtotal == Decimal("1050.00")


def test_order_refunded_amount_cannot_exceed_the_total(order):
    with refused_by("order_refunded_within_total"):
        Order.objects.filter(pk=order.pk).update(refunded_amount=F("total") + Decimal("0.01"))


def test_order_refunded_amount_cannot_be_negative(order):
    with refused_by("order_refunded_within_total"):
        Order.objects.filter(pk=order.pk).update(refunded_amount=Decimal("-0.01"))


def test_order_refunded_amount_may_reach_exactly_the_total(order):
    Order.objects.filter(pk=order.pk).update(refunded_amount=F("total"))
    order.refresh_from_db()
    assert order.refunded_amount == order.total


@pytest.mark.parametrize("status", ["SHIPPED", "pending", ""])
def test_order_status_must_be_one_of_the_known_statuses(order, status):
    with refused_by("order_status_valid"):
        Order.objects.filter(pk=order.pk).update(status=status)


def test_order_version_cannot_drop_to_zero(order):
    with refused_by("order_version_positive"):
        Order.objects.filter(pk=order.pk).update(version=0)


def test_two_orders_cannot_share_a_number(laptop):
    first, second = place_order({laptop: 1}), place_order({laptop: 1})
    with refused_by("number"):
        Order.objects.filter(pk=second.pk).update(number=first.number)


# --- OrderItem ------------------------------------------------------------------------------------


def test_order_item_quantity_cannot_be_zero(order):
    item = order.items.get(product_sku="MOU-001")
    # line_total follows, so only the quantity rule is broken.
    with refused_by("orderitem_quantity_positive"):
        OrderItem.objects.filter(pk=item.pk).update(quantity=0, line_total=Decimal("0.00"))


def test_order_item_line_total_must_be_unit_price_times_quantity(order):
    item = order.items.get(product_sku="MOU-001")
    assert (item.quantity, item.line_total) == (2, Decimal("50.00"))
    with refused_by("orderitem_line_total_product"):
        OrderItem.objects.filter(pk=item.pk).update(line_total=Decimal("25.00"))
    with refused_by("orderitem_line_total_product"):
        OrderItem.objects.filter(pk=item.pk).update(quantity=3)


def test_an_order_cannot_list_the_same_sku_twice(order):
    item = order.items.get(product_sku="MOU-001")
    with refused_by("orderitem_unique_sku_per_order"):
        OrderItem.objects.create(
            order=order,
            product_sku=item.product_sku,
            product_name=item.product_name,
            unit_price=item.unit_price,
            quantity=1,
            line_total=item.unit_price,
        )


# --- Payment --------------------------------------------------------------------------------------


def test_payment_refunded_amount_cannot_exceed_the_amount(order):
    payment = _payment_of(order)
    with refused_by("payment_refunded_within_amount"):
        Payment.objects.filter(pk=payment.pk).update(refunded_amount=F("amount") + Decimal("0.01"))


def test_payment_refunded_amount_cannot_be_negative(order):
    payment = _payment_of(order)
    with refused_by("payment_refunded_within_amount"):
        Payment.objects.filter(pk=payment.pk).update(refunded_amount=Decimal("-0.01"))


@pytest.mark.parametrize("amount", [Decimal("0.00"), Decimal("-1.00")])
def test_payment_amount_must_be_positive(order, amount):
    payment = _payment_of(order)
    with refused_by("payment_amount_positive"):
        Payment.objects.filter(pk=payment.pk).update(amount=amount)


def test_payment_status_and_method_must_be_known_values(order):
    payment = _payment_of(order)
    with refused_by("payment_status_valid"):
        Payment.objects.filter(pk=payment.pk).update(status="CAPTURED")
    with refused_by("payment_method_valid"):
        Payment.objects.filter(pk=payment.pk).update(method="CHEQUE")


def _new_payment(order: Order, status: str) -> Payment:
    return Payment.objects.create(order=order, method=PaymentMethod.CREDIT_CARD, amount=order.total, status=status)


@pytest.mark.parametrize(
    "status", [Payment.Status.PENDING, Payment.Status.PROCESSING, Payment.Status.COMPLETED, Payment.Status.REFUNDED]
)
def test_an_order_cannot_have_two_payments_that_are_not_failed(order, status):
    assert _payment_of(order).status == Payment.Status.PENDING
    with refused_by("payment_one_live_per_order"):
        _new_payment(order, status)
    assert order.payments.count() == 1


def test_an_order_may_have_several_failed_payments_and_then_one_live_one(order):
    order.payments.update(status=Payment.Status.FAILED)
    _new_payment(order, Payment.Status.FAILED)
    _new_payment(order, Payment.Status.FAILED)
    _new_payment(order, Payment.Status.PENDING)
    with refused_by("payment_one_live_per_order"):
        _new_payment(order, Payment.Status.PROCESSING)
    assert sorted(order.payments.values_list("status", flat=True)) == ["FAILED", "FAILED", "FAILED", "PENDING"]


def test_a_failed_payment_cannot_come_back_to_life_beside_a_live_one(order):
    first = _payment_of(order)
    Payment.objects.filter(pk=first.pk).update(status=Payment.Status.FAILED)
    _new_payment(order, Payment.Status.COMPLETED)
    with refused_by("payment_one_live_per_order"):
        Payment.objects.filter(pk=first.pk).update(status=Payment.Status.PENDING)


def test_two_payments_cannot_share_a_gateway_transaction_id(laptop):
    first, second = _payment_of(place_order({laptop: 1})), _payment_of(place_order({laptop: 1}))
    Payment.objects.filter(pk=first.pk).update(gateway_transaction_id="fake_same")
    with refused_by("gateway_transaction_id"):
        Payment.objects.filter(pk=second.pk).update(gateway_transaction_id="fake_same")


def test_many_payments_may_have_no_gateway_transaction_id(laptop):
    orders = [place_order({laptop: 1}) for _ in range(3)]
    Payment.objects.filter(order__in=orders).update(gateway_transaction_id=None)
    assert Payment.objects.filter(order__in=orders, gateway_transaction_id__isnull=True).count() == 3


def test_two_payments_cannot_share_an_idempotency_key(laptop):
    first, second = _payment_of(place_order({laptop: 1})), _payment_of(place_order({laptop: 1}))
    with refused_by("idempotency_key"):
        Payment.objects.filter(pk=second.pk).update(idempotency_key=first.idempotency_key)


# --- Refund ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [Decimal("0.00"), Decimal("-5.00")])
def test_refund_amount_must_be_positive(order, amount):
    with refused_by("refund_amount_positive"):
        Refund.objects.create(payment=_payment_of(order), amount=amount)
    assert not Refund.objects.exists()


def test_refund_status_must_be_a_known_value(order):
    refund = Refund.objects.create(payment=_payment_of(order), amount=Decimal("1.00"))
    with refused_by("refund_status_valid"):
        Refund.objects.filter(pk=refund.pk).update(status="DONE")


# --- Customer -------------------------------------------------------------------------------------


def test_two_guests_whose_emails_differ_only_in_case_are_refused():
    CustomerFactory(email="Ann.Lee@Example.com")
    with refused_by("customer_unique_guest_email_ci"):
        CustomerFactory(email="ann.lee@example.COM")
    assert Customer.objects.count() == 1


def test_a_registered_customer_may_share_a_guests_email():
    guest = CustomerFactory(email="ann@example.com")
    registered = CustomerFactory(email="ANN@example.com", user=UserFactory())
    second_registered = CustomerFactory(email="ann@example.com", user=UserFactory())
    assert guest.is_guest
    assert not registered.is_guest and not second_registered.is_guest
    assert Customer.objects.filter(email__iexact="ann@example.com").count() == 3


def test_a_registered_customer_cannot_be_detached_into_a_second_guest_with_that_email():
    CustomerFactory(email="ann@example.com")
    registered = CustomerFactory(email="Ann@Example.com", user=UserFactory())
    with refused_by("customer_unique_guest_email_ci"):
        Customer.objects.filter(pk=registered.pk).update(user=None)


def test_deleting_a_user_whose_email_a_guest_also_used_succeeds_and_keeps_both_customers_orders(laptop):
    """Customer.user is SET_NULL, so deleting the user turns their profile into a second guest row with the
    guest's email, which customer_unique_guest_email_ci refuses: the delete must handle that case."""
    guest_order = place_order({laptop: 1}, email="ann@example.com")
    user = UserFactory(email="ann@example.com")
    registered = CustomerFactory(email="ann@example.com", user=user)
    registered_order = place_order({laptop: 1}, customer=registered)

    user.delete()

    assert Order.objects.filter(pk__in=[guest_order.pk, registered_order.pk]).count() == 2
    assert not Customer.objects.filter(user__isnull=False).exists()
    guest = Customer.objects.get(email__iexact="ann@example.com")
    assert set(guest.orders.values_list("pk", flat=True)) == {guest_order.pk, registered_order.pk}


def test_deleting_a_user_turns_their_profile_into_a_guest_with_its_orders(laptop):
    user = UserFactory(email="bob@example.com")
    profile = CustomerFactory(email="bob@example.com", user=user)
    order = place_order({laptop: 1}, customer=profile)

    user.delete()

    profile.refresh_from_db()
    assert profile.is_guest
    assert list(profile.orders.values_list("pk", flat=True)) == [order.pk]
