"""cancel_order, complete_order and release_expired_orders."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from shop.exceptions import (
    InvalidTransition,
    OrderNotFound,
    PaymentInProgress,
    RefundFailed,
    RefundInProgress,
    VersionConflict,
)
from shop.models import Order, Payment, Product, Refund, SandboxTransaction
from shop.services import cancel_order, complete_order, process_payment, refund_order, release_expired_orders
from tests.factories import paid_order, place_order

pytestmark = pytest.mark.django_db


def test_cancelling_an_unpaid_order_releases_its_stock_and_closes_its_payment(order, laptop, mouse, staff):
    cancelled = cancel_order(order_id=order.pk, actor=staff, reason="Customer changed their mind")

    assert cancelled.status == Order.Status.CANCELLED
    assert (Product.objects.get(pk=laptop.pk).stock, Product.objects.get(pk=mouse.pk).stock) == (10, 100)
    payment = order.payments.get()
    assert (payment.status, payment.failure_reason) == (Payment.Status.FAILED, "Order cancelled before payment.")
    event = Order.objects.get(pk=order.pk).events.last()
    assert (event.kind, event.from_status, event.to_status, event.message) == (
        "order.cancelled",
        "PENDING",
        "CANCELLED",
        "Customer changed their mind",
    )
    assert not SandboxTransaction.objects.exists()


def test_cancelling_a_failed_order_releases_its_stock(order, laptop, system):
    process_payment(order_id=order.pk, actor=system, token="tok_decline")

    cancel_order(order_id=order.pk, actor=system)

    assert Order.objects.get(pk=order.pk).status == Order.Status.CANCELLED
    assert Product.objects.get(pk=laptop.pk).stock == 10


def test_cancelling_a_paid_order_refunds_it_in_full_and_releases_its_stock(confirmed_order, laptop, staff):
    cancelled = cancel_order(order_id=confirmed_order.pk, actor=staff, reason="Out of stock at warehouse")

    assert (cancelled.status, cancelled.refunded_amount) == (Order.Status.CANCELLED, Decimal("1055.00"))
    assert cancelled.payments.get().status == Payment.Status.REFUNDED
    assert Refund.objects.get().amount == Decimal("1055.00")
    assert Product.objects.get(pk=laptop.pk).stock == 10
    assert SandboxTransaction.objects.get(kind="REFUND").amount == Decimal("1055.00")
    assert [e.kind for e in cancelled.events.all()][-2:] == ["refund.requested", "order.cancelled"]


def test_cancelling_a_partly_refunded_order_refunds_only_the_rest(confirmed_order, staff):
    refund_order(order_id=confirmed_order.pk, actor=staff, amount="55.00")

    cancelled = cancel_order(order_id=confirmed_order.pk, actor=staff)

    assert cancelled.refunded_amount == Decimal("1055.00")
    assert list(Refund.objects.values_list("amount", flat=True)) == [Decimal("55.00"), Decimal("1000.00")]


def test_a_paid_order_whose_refund_is_declined_stays_confirmed(laptop, staff):
    order = paid_order({laptop: 1}, token="tok_refund_decline")

    with pytest.raises(RefundFailed):
        cancel_order(order_id=order.pk, actor=staff)

    order.refresh_from_db()
    assert (order.status, order.refunded_amount) == (Order.Status.CONFIRMED, 0)
    assert Product.objects.get(pk=laptop.pk).stock == 9


def test_cancel_and_complete_wait_for_a_refund_in_progress(laptop, staff):
    order = paid_order({laptop: 1}, token="tok_refund_timeout")
    refund_order(order_id=order.pk, actor=staff, amount="10.00")

    with pytest.raises(RefundInProgress):
        cancel_order(order_id=order.pk, actor=staff)
    with pytest.raises(RefundInProgress):
        complete_order(order_id=order.pk, actor=staff)
    assert Order.objects.get(pk=order.pk).status == Order.Status.CONFIRMED


def test_completing_a_paid_order(confirmed_order, staff):
    completed = complete_order(order_id=confirmed_order.pk, actor=staff, expected_version=confirmed_order.version)

    assert completed.status == Order.Status.COMPLETED
    assert completed.version == confirmed_order.version + 1
    assert Order.objects.get(pk=confirmed_order.pk).events.last().kind == "order.completed"


def test_a_stale_version_refuses_cancel_and_complete(confirmed_order, staff):
    with pytest.raises(VersionConflict):
        cancel_order(order_id=confirmed_order.pk, actor=staff, expected_version=1)
    with pytest.raises(VersionConflict):
        complete_order(order_id=confirmed_order.pk, actor=staff, expected_version=1)
    assert Order.objects.get(pk=confirmed_order.pk).status == Order.Status.CONFIRMED


def test_a_missing_order_is_not_found(db, staff):
    with pytest.raises(OrderNotFound):
        cancel_order(order_id=999_999, actor=staff)


def test_expired_unpaid_orders_are_cancelled_and_fresh_or_paid_ones_are_left(laptop, mouse, system):
    old = place_order({laptop: 2})
    old_failed = place_order({laptop: 1})
    process_payment(order_id=old_failed.pk, actor=system, token="tok_decline")
    fresh = place_order({laptop: 1})
    paid = paid_order({mouse: 1})
    Order.objects.filter(pk__in=[old.pk, old_failed.pk, paid.pk]).update(created_at=timezone.now() - timedelta(hours=2))

    released = release_expired_orders(older_than=timedelta(hours=1))

    assert sorted(released) == sorted([old.number, old_failed.number])
    statuses = dict(Order.objects.values_list("pk", "status"))
    assert statuses == {old.pk: "CANCELLED", old_failed.pk: "CANCELLED", fresh.pk: "PENDING", paid.pk: "CONFIRMED"}
    assert Product.objects.get(pk=laptop.pk).stock == 9
    assert Order.objects.get(pk=old.pk).events.last().actor_label == "expiry"


def test_releasing_twice_releases_stock_once(laptop):
    order = place_order({laptop: 3})
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(days=1))

    assert release_expired_orders(older_than=timedelta(hours=1)) == [order.number]
    assert release_expired_orders(older_than=timedelta(hours=1)) == []
    assert Product.objects.get(pk=laptop.pk).stock == 10


# Every transition the state machine refuses, for each operation that would make it.
REFUSED = {
    "cancel": ["PROCESSING", "COMPLETED", "CANCELLED", "REFUNDED"],
    "complete": ["PENDING", "PROCESSING", "FAILED", "COMPLETED", "CANCELLED", "REFUNDED"],
    "refund": ["PENDING", "PROCESSING", "FAILED", "CANCELLED", "REFUNDED"],
    "pay": ["CONFIRMED", "COMPLETED", "CANCELLED", "REFUNDED"],
}
OPERATIONS = {
    "cancel": lambda order, actor: cancel_order(order_id=order.pk, actor=actor),
    "complete": lambda order, actor: complete_order(order_id=order.pk, actor=actor),
    "refund": lambda order, actor: refund_order(order_id=order.pk, actor=actor),
    "pay": lambda order, actor: process_payment(order_id=order.pk, actor=actor),
}


def _order_in(status: str, laptop, actor) -> Order:
    """Bring a real order to `status` through the services only."""
    order = place_order({laptop: 1})
    steps = {
        "PENDING": [],
        "PROCESSING": [lambda: process_payment(order_id=order.pk, actor=actor, token="tok_timeout")],
        "FAILED": [lambda: process_payment(order_id=order.pk, actor=actor, token="tok_decline")],
        "CONFIRMED": [lambda: process_payment(order_id=order.pk, actor=actor)],
        "COMPLETED": [
            lambda: process_payment(order_id=order.pk, actor=actor),
            lambda: complete_order(order_id=order.pk, actor=actor),
        ],
        "CANCELLED": [lambda: cancel_order(order_id=order.pk, actor=actor)],
        "REFUNDED": [
            lambda: process_payment(order_id=order.pk, actor=actor),
            lambda: refund_order(order_id=order.pk, actor=actor),
        ],
    }[status]
    for step in steps:
        step()
    order.refresh_from_db()
    assert order.status == status
    return order


@pytest.mark.parametrize(
    ("operation", "status"), [(operation, status) for operation, statuses in REFUSED.items() for status in statuses]
)
def test_every_refused_transition_raises_and_changes_nothing(laptop, staff, operation, status):
    order = _order_in(status, laptop, staff)
    before = (order.status, order.version, order.refunded_amount, order.events.count(), Product.objects.get().stock)

    with pytest.raises((InvalidTransition, PaymentInProgress)):
        OPERATIONS[operation](order, staff)

    order.refresh_from_db()
    after = (order.status, order.version, order.refunded_amount, order.events.count(), Product.objects.get().stock)
    assert after == before
