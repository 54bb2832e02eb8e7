"""Refunds under real concurrency: threads behind a barrier, one PostgreSQL connection each.

However refunds and cancels of a paid order interleave, the shop never gives back more than it captured,
and its records (refunds, payment, order) agree with the gateway's ledger.
"""

from decimal import Decimal
from functools import partial

import pytest
from django.db.models import Sum

from shop.exceptions import InvalidTransition, RefundInProgress, RefundNotAllowed
from shop.models import Order, OrderEvent, Payment, Product, Refund, SandboxTransaction
from shop.services import cancel_order, complete_order, refund_order
from tests.concurrency.race import race
from tests.factories import ProductFactory, paid_order

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]

ROUNDS = 5
# What a losing racer may be told: the other one already took (or is taking) the money, or closed the order.
LOSING_ERRORS = (RefundNotAllowed, RefundInProgress, InvalidTransition)


@pytest.fixture
def product(db):
    return ProductFactory(price=Decimal("100.00"), stock=1000)


def _paid(product: Product) -> Order:
    """CONFIRMED, 2 x 100.00 + 5.00 shipping = 205.00 captured."""
    order = paid_order({product: 2}, shipping_cost="5.00")
    assert order.status == Order.Status.CONFIRMED
    return order


def _refunds_agree_with_the_gateway(order: Order) -> Decimal:
    """Check the money invariants of one order; return what was refunded."""
    order.refresh_from_db()
    payment = Payment.objects.get(order=order)
    refunds = Refund.objects.filter(payment=payment)
    assert not refunds.filter(status=Refund.Status.PENDING).exists()
    refunded = refunds.filter(status=Refund.Status.SUCCEEDED).aggregate(total=Sum("amount"))["total"] or Decimal(0)
    at_gateway = SandboxTransaction.objects.filter(
        kind=SandboxTransaction.Kind.REFUND, charge_reference=payment.gateway_transaction_id, succeeded=True
    ).aggregate(total=Sum("amount"))["total"] or Decimal(0)
    assert refunded <= payment.amount
    assert payment.refunded_amount == refunded
    assert order.refunded_amount == refunded
    assert order.refunded_amount <= order.total
    assert at_gateway == refunded, f"gateway refunded {at_gateway}, the shop recorded {refunded}"
    return refunded


@pytest.mark.parametrize(
    ("amount", "restock"),
    [(None, True), ("205.00", False), ("60.00", False)],
    ids=["remainder-with-restock", "full-amount", "partial"],
)
def test_a_refund_racing_a_cancel_never_refunds_more_than_was_captured(product, staff, system, amount, restock):
    for _round in range(ROUNDS):
        order = _paid(product)
        stock_before = Product.objects.get(pk=product.pk).stock

        result = race(
            partial(refund_order, order_id=order.pk, actor=staff, amount=amount, reason="race", restock=restock),
            partial(cancel_order, order_id=order.pk, actor=system, reason="race"),
        )

        assert result.values, "the first to lock the order must succeed"
        assert all(isinstance(error, LOSING_ERRORS) for error in result.errors), result.errors
        refunded = _refunds_agree_with_the_gateway(order)
        payment = Payment.objects.get(order=order)
        stock = Product.objects.get(pk=product.pk).stock
        cancelled = OrderEvent.objects.filter(order=order, kind="order.cancelled").count()
        if order.status == Order.Status.CANCELLED:
            assert refunded == order.total
            assert payment.status == Payment.Status.REFUNDED
            assert stock == stock_before + 2, "a cancel puts the stock back exactly once"
            assert cancelled == 1
        elif order.status == Order.Status.REFUNDED:
            assert amount != "60.00"
            assert refunded == order.total
            assert payment.status == Payment.Status.REFUNDED
            assert stock == stock_before + (2 if restock else 0), "stock goes back only with restock, and once"
            assert cancelled == 0
        else:
            assert (order.status, amount, refunded) == (Order.Status.CONFIRMED, "60.00", Decimal("60.00"))
            assert payment.status == Payment.Status.PARTIALLY_REFUNDED
            assert stock == stock_before
            assert len(result.errors) == 1


def test_a_partial_refund_and_a_cancel_together_refund_exactly_the_captured_amount(product, staff, system):
    # With the partial refund settled first, the cancel refunds only the rest: 60.00 + 145.00 = 205.00.
    outcomes = set()
    for _round in range(ROUNDS):
        order = _paid(product)
        result = race(
            partial(refund_order, order_id=order.pk, actor=staff, amount="60.00"),
            partial(cancel_order, order_id=order.pk, actor=system),
        )
        assert all(isinstance(error, LOSING_ERRORS) for error in result.errors), result.errors
        refunded = _refunds_agree_with_the_gateway(order)
        amounts = sorted(
            Refund.objects.filter(payment__order=order, status=Refund.Status.SUCCEEDED).values_list("amount", flat=True)
        )
        assert amounts in ([Decimal("205.00")], [Decimal("60.00")], [Decimal("60.00"), Decimal("145.00")])
        assert refunded == sum(amounts)
        outcomes.add(order.status)
    assert outcomes <= {Order.Status.CANCELLED, Order.Status.CONFIRMED}


def test_two_refunds_of_the_whole_remainder_racing_leave_exactly_one_refund(product, staff):
    for _round in range(ROUNDS):
        order = _paid(product)

        result = race(*[partial(refund_order, order_id=order.pk, actor=staff, reason="twice")] * 2)

        assert len(result.values) == 1
        assert len(result.errors) == 1
        assert isinstance(result.errors[0], (RefundNotAllowed, InvalidTransition)), result.errors
        refund = Refund.objects.get(payment__order=order)
        assert (refund.status, refund.amount) == (Refund.Status.SUCCEEDED, order.total)
        assert result.values[0].pk == refund.pk
        assert _refunds_agree_with_the_gateway(order) == order.total
        assert order.status == Order.Status.REFUNDED
        assert Payment.objects.get(order=order).status == Payment.Status.REFUNDED
        assert OrderEvent.objects.filter(order=order, kind="refund.succeeded").count() == 1
        assert OrderEvent.objects.filter(order=order, kind="refund.requested").count() == 1


def test_many_partial_refunds_racing_add_up_to_at_most_the_captured_amount(product, staff):
    order = _paid(product)  # 205.00: at most four refunds of 50.00 fit

    result = race(*[partial(refund_order, order_id=order.pk, actor=staff, amount="50.00")] * 8)

    assert len(result.values) == 4
    assert all(isinstance(error, RefundNotAllowed) for error in result.errors), result.errors
    assert _refunds_agree_with_the_gateway(order) == Decimal("200.00")
    assert order.status == Order.Status.CONFIRMED
    assert Payment.objects.get(order=order).status == Payment.Status.PARTIALLY_REFUNDED
    assert Refund.objects.filter(payment__order=order).count() == 4


def test_a_full_refund_racing_completion_always_ends_refunded(product, staff, system):
    # Completion first: COMPLETED, then refunded. Refund first: completion waits for it and is refused.
    for _round in range(ROUNDS):
        order = _paid(product)

        result = race(
            partial(refund_order, order_id=order.pk, actor=staff),
            partial(complete_order, order_id=order.pk, actor=system),
        )

        refunds = [value for value in result.values if isinstance(value, Refund)]
        assert len(refunds) == 1 and refunds[0].status == Refund.Status.SUCCEEDED, result
        assert all(isinstance(error, (RefundInProgress, InvalidTransition)) for error in result.errors), result.errors
        assert _refunds_agree_with_the_gateway(order) == order.total
        assert order.status == Order.Status.REFUNDED
        assert OrderEvent.objects.filter(order=order, kind="order.completed").count() == len(result.values) - 1
