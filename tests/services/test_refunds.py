"""refund_order: full, partial, several partials, never above what was captured."""

from datetime import timedelta
from decimal import Decimal

import pytest

from shop.exceptions import InvalidOrderInput, InvalidTransition, RefundFailed, RefundNotAllowed, VersionConflict
from shop.models import Order, Payment, Product, Refund, SandboxTransaction
from shop.services import cancel_order, complete_order, process_payment, reconcile_payments, refund_order
from tests.factories import paid_order

pytestmark = pytest.mark.django_db


def _refunded_at_gateway() -> Decimal:
    return sum(
        SandboxTransaction.objects.filter(kind="REFUND", succeeded=True).values_list("amount", flat=True),
        Decimal("0.00"),
    )


def test_a_full_refund_moves_the_order_to_refunded(confirmed_order, staff, staff_user):
    refund = refund_order(order_id=confirmed_order.pk, actor=staff, reason="Product defective")

    order = Order.objects.get(pk=confirmed_order.pk)
    payment = order.payments.get()
    assert (refund.status, refund.amount, refund.created_by) == (
        Refund.Status.SUCCEEDED,
        Decimal("1055.00"),
        staff_user,
    )
    assert (order.status, order.refunded_amount) == (Order.Status.REFUNDED, Decimal("1055.00"))
    assert (payment.status, payment.refunded_amount) == (Payment.Status.REFUNDED, Decimal("1055.00"))
    assert _refunded_at_gateway() == Decimal("1055.00")
    last = order.events.last()
    assert (last.kind, last.from_status, last.to_status, last.actor_user) == (
        "refund.succeeded",
        "CONFIRMED",
        "REFUNDED",
        staff_user,
    )


def test_partial_refunds_add_up_and_the_last_one_refunds_the_order(confirmed_order, staff):
    refund_order(order_id=confirmed_order.pk, actor=staff, amount="525.00", reason="Product defective")
    order = Order.objects.get(pk=confirmed_order.pk)
    assert (order.status, order.refunded_amount) == (Order.Status.CONFIRMED, Decimal("525.00"))
    assert order.payments.get().status == Payment.Status.PARTIALLY_REFUNDED

    refund_order(order_id=confirmed_order.pk, actor=staff, amount="30.00")
    rest = refund_order(order_id=confirmed_order.pk, actor=staff)

    order.refresh_from_db()
    assert rest.amount == Decimal("500.00")
    assert (order.status, order.refunded_amount) == (Order.Status.REFUNDED, Decimal("1055.00"))
    assert _refunded_at_gateway() == Decimal("1055.00")


def test_a_refund_above_what_remains_is_refused_and_changes_nothing(confirmed_order, staff):
    refund_order(order_id=confirmed_order.pk, actor=staff, amount="1000.00")

    with pytest.raises(RefundNotAllowed) as raised:
        refund_order(order_id=confirmed_order.pk, actor=staff, amount="55.01")

    assert raised.value.details == {"requested": "55.01", "refundable": "55.00"}
    order = Order.objects.get(pk=confirmed_order.pk)
    assert order.refunded_amount == Decimal("1000.00")
    assert Refund.objects.count() == 1


@pytest.mark.parametrize("amount", ["0", "-5.00", "1.234", "lots"])
def test_a_malformed_refund_amount_is_refused(confirmed_order, staff, amount):
    with pytest.raises((RefundNotAllowed, InvalidOrderInput)):
        refund_order(order_id=confirmed_order.pk, actor=staff, amount=amount)
    assert Refund.objects.count() == 0


@pytest.mark.parametrize("status", ["PENDING", "FAILED", "CANCELLED"])
def test_an_unpaid_or_cancelled_order_cannot_be_refunded(order, staff, system, status):
    if status == "FAILED":
        process_payment(order_id=order.pk, actor=system, token="tok_decline")
    elif status == "CANCELLED":
        cancel_order(order_id=order.pk, actor=system)

    with pytest.raises(InvalidTransition):
        refund_order(order_id=order.pk, actor=staff)
    assert Refund.objects.count() == 0


def test_a_refunded_order_cannot_be_refunded_again(confirmed_order, staff):
    refund_order(order_id=confirmed_order.pk, actor=staff)

    with pytest.raises(InvalidTransition):
        refund_order(order_id=confirmed_order.pk, actor=staff, amount="1.00")


def test_a_completed_order_can_be_refunded(confirmed_order, staff):
    complete_order(order_id=confirmed_order.pk, actor=staff)
    refund_order(order_id=confirmed_order.pk, actor=staff)

    assert Order.objects.get(pk=confirmed_order.pk).status == Order.Status.REFUNDED


def test_restock_returns_the_stock_with_the_full_refund(laptop, mouse, staff):
    order = paid_order({laptop: 2, mouse: 1})
    assert Product.objects.get(pk=laptop.pk).stock == 8

    refund_order(order_id=order.pk, actor=staff, restock=True)

    assert Product.objects.get(pk=laptop.pk).stock == 10
    assert Product.objects.get(pk=mouse.pk).stock == 100


def test_restock_is_refused_on_a_partial_refund(confirmed_order, staff, laptop):
    with pytest.raises(InvalidOrderInput):
        refund_order(order_id=confirmed_order.pk, actor=staff, amount="10.00", restock=True)
    assert Refund.objects.count() == 0


def test_a_refund_without_restock_keeps_the_stock_sold(confirmed_order, staff, laptop):
    refund_order(order_id=confirmed_order.pk, actor=staff)

    assert Product.objects.get(pk=laptop.pk).stock == 9


def test_a_refund_the_gateway_declines_is_recorded_and_changes_no_money(laptop, staff):
    order = paid_order({laptop: 1}, token="tok_refund_decline")

    with pytest.raises(RefundFailed):
        refund_order(order_id=order.pk, actor=staff, amount="100.00")

    order.refresh_from_db()
    assert (order.status, order.refunded_amount) == (Order.Status.CONFIRMED, 0)
    assert Refund.objects.get().status == Refund.Status.FAILED
    assert order.events.last().kind == "refund.failed"
    # The failed refund reserves nothing: the whole amount may be tried again (and is refused by the gateway).
    with pytest.raises(RefundFailed):
        refund_order(order_id=order.pk, actor=staff, amount="1000.00")


def test_a_refund_whose_answer_is_lost_stays_pending_reserves_its_amount_and_is_reconciled(laptop, staff):
    order = paid_order({laptop: 1}, token="tok_refund_timeout")

    refund = refund_order(order_id=order.pk, actor=staff, amount="400.00")
    assert refund.status == Refund.Status.PENDING
    with pytest.raises(RefundNotAllowed) as raised:
        refund_order(order_id=order.pk, actor=staff, amount="600.01")
    assert raised.value.details["refundable"] == "600.00"

    report = reconcile_payments(older_than=timedelta(0))

    order.refresh_from_db()
    assert report.refunds_settled == [refund.pk]
    assert Refund.objects.get(pk=refund.pk).status == Refund.Status.SUCCEEDED
    assert order.refunded_amount == Decimal("400.00")


def test_a_stale_version_refuses_the_refund(confirmed_order, staff):
    with pytest.raises(VersionConflict):
        refund_order(order_id=confirmed_order.pk, actor=staff, expected_version=confirmed_order.version - 1)
    assert Refund.objects.count() == 0
