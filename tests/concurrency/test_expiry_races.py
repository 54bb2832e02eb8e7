"""Expiry of unpaid orders racing their payment: threads behind a barrier, one PostgreSQL connection each.

`release_expired_orders` promises that an order paid in the meantime is left alone. Whichever comes first,
an order ends either paid (CONFIRMED, charged once, stock kept) or expired (CANCELLED, never charged,
stock back): never paid and then cancelled and refunded by the expiry job.
"""

import threading
from datetime import timedelta
from decimal import Decimal
from functools import partial

import pytest

import shop.services.orders
from shop.exceptions import InvalidTransition, PaymentInProgress
from shop.models import Order, OrderEvent, Payment, Product, Refund, SandboxTransaction
from shop.services import process_payment, release_expired_orders
from tests.concurrency.race import race
from tests.factories import ProductFactory, place_order

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]


@pytest.fixture
def product(db):
    return ProductFactory(price=Decimal("20.00"), stock=1000)


def _assert_paid_or_expired_never_both(order: Order, product: Product, *, stock_if_kept: int) -> str:
    order.refresh_from_db()
    charges = SandboxTransaction.objects.filter(
        kind=SandboxTransaction.Kind.CHARGE,
        idempotency_key__in=[str(key) for key in order.payments.values_list("idempotency_key", flat=True)],
    )
    stock = Product.objects.get(pk=product.pk).stock
    assert not Refund.objects.filter(payment__order=order).exists(), (
        f"order {order.number} was paid, then cancelled and refunded by the expiry job "
        f"(events: {list(order.events.values_list('kind', flat=True))})"
    )
    if order.status == Order.Status.CONFIRMED:
        assert charges.count() == 1
        assert order.payments.get(status=Payment.Status.COMPLETED)
        assert stock == stock_if_kept
        assert not OrderEvent.objects.filter(order=order, kind="order.cancelled").exists()
    else:
        assert order.status == Order.Status.CANCELLED
        assert not charges.exists()
        assert stock == stock_if_kept + 1
        assert OrderEvent.objects.filter(order=order, kind="order.cancelled").count() == 1
    return order.status


def test_expiry_racing_a_payment_leaves_the_order_either_paid_or_expired(product, system):
    for _round in range(5):
        # The target is the oldest unpaid order, so the expiry job reaches it last, after the decoys.
        target = place_order({product: 1})
        decoys = [place_order({product: 1}, email=f"decoy{i}@example.com") for i in range(8)]
        stock_if_kept = Product.objects.get(pk=product.pk).stock + len(decoys)

        result = race(
            partial(process_payment, order_id=target.pk, actor=system, token="tok_visa"),
            partial(release_expired_orders, older_than=timedelta(0), actor=system),
        )

        assert all(isinstance(error, (InvalidTransition, PaymentInProgress)) for error in result.errors), result.errors
        _assert_paid_or_expired_never_both(target, product, stock_if_kept=stock_if_kept)
        for decoy in decoys:
            decoy.refresh_from_db()
            assert decoy.status == Order.Status.CANCELLED


def test_an_order_paid_after_the_expiry_job_listed_it_is_left_alone(product, system, monkeypatch):
    """The same race with its worst interleaving forced: the job lists the order as unpaid, then the customer
    pays it before the job gets to cancel it."""
    order = place_order({product: 1})
    stock_if_kept = Product.objects.get(pk=product.pk).stock
    listed, paid = threading.Event(), threading.Event()
    real_expire = shop.services.orders._expire_if_still_unpaid

    def expire_after_payment(**kwargs):
        listed.set()
        assert paid.wait(timeout=10), "the payment did not finish"
        return real_expire(**kwargs)

    def pay_once_listed():
        assert listed.wait(timeout=10), "the expiry job did not list the order"
        try:
            return process_payment(order_id=order.pk, actor=system, token="tok_visa")
        finally:
            paid.set()

    monkeypatch.setattr(shop.services.orders, "_expire_if_still_unpaid", expire_after_payment)

    result = race(pay_once_listed, partial(release_expired_orders, older_than=timedelta(0), actor=system))

    assert not result.errors, result.errors
    payment, released = sorted(result.values, key=lambda value: isinstance(value, list))
    assert payment.status == Payment.Status.COMPLETED
    assert _assert_paid_or_expired_never_both(order, product, stock_if_kept=stock_if_kept) == Order.Status.CONFIRMED
    assert released == [], "a paid order is not expired"
