"""Payments under real concurrency: many threads, one barrier, one PostgreSQL connection each.

An order is charged at most once however many requests pay it at the same instant, and a payment whose
answer was lost is settled exactly once when reconciliation races the original request's last phase.
"""

from datetime import timedelta
from decimal import Decimal
from functools import partial

import pytest

from shop.exceptions import InvalidTransition, PaymentInProgress
from shop.gateways.fake import FakeGateway
from shop.models import Order, OrderEvent, Payment, Product, SandboxTransaction
from shop.services import cancel_order, process_payment, reconcile_payments, settle_payment
from tests.concurrency.race import race
from tests.factories import ProductFactory, place_order

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]

RACERS = 20


@pytest.fixture
def gadget(db):
    return ProductFactory(price=Decimal("40.00"), stock=1000)


def _charges_for(order: Order) -> list[SandboxTransaction]:
    keys = [str(key) for key in Payment.objects.filter(order=order).values_list("idempotency_key", flat=True)]
    return list(SandboxTransaction.objects.filter(kind=SandboxTransaction.Kind.CHARGE, idempotency_key__in=keys))


def _events(order: Order, kind: str) -> int:
    return OrderEvent.objects.filter(order=order, kind=kind).count()


def _assert_paid_exactly_once(order: Order) -> Payment:
    order.refresh_from_db()
    assert order.status == Order.Status.CONFIRMED
    completed = Payment.objects.filter(order=order, status=Payment.Status.COMPLETED)
    assert completed.count() == 1
    payment = completed.get()
    charges = _charges_for(order)
    succeeded = [charge for charge in charges if charge.succeeded]
    assert len(succeeded) == 1, f"{len(succeeded)} successful charges at the gateway"
    assert succeeded[0].amount == order.total == payment.amount
    assert payment.gateway_transaction_id == succeeded[0].reference
    assert _events(order, "payment.succeeded") == 1
    return payment


@pytest.mark.parametrize("latency_ms", [0, 30], ids=["instant-gateway", "slow-gateway"])
def test_twenty_simultaneous_payments_of_one_order_charge_it_exactly_once(settings, system, gadget, latency_ms):
    # A slow gateway keeps the order PROCESSING while the others arrive (PaymentInProgress); an instant one
    # lets most of them find it CONFIRMED already (InvalidTransition). Both must charge once.
    settings.PAYMENT_GATEWAYS = {
        "fake": {"BACKEND": "shop.gateways.fake.FakeGateway", "OPTIONS": {"latency_ms": latency_ms}}
    }
    order = place_order({gadget: 2}, shipping_cost="5.00")

    result = race(*[partial(process_payment, order_id=order.pk, actor=system, token="tok_visa")] * RACERS)

    assert len(result.values) == 1
    assert result.values[0].status == Payment.Status.COMPLETED
    assert len(result.errors) == RACERS - 1
    assert all(isinstance(error, (PaymentInProgress, InvalidTransition)) for error in result.errors), result.errors
    payment = _assert_paid_exactly_once(order)
    assert Payment.objects.filter(order=order).count() == 1
    assert len(_charges_for(order)) == 1
    assert SandboxTransaction.objects.filter(kind=SandboxTransaction.Kind.CHARGE).count() == 1
    assert _events(order, "payment.started") == 1
    assert result.values[0].pk == payment.pk
    order.refresh_from_db()
    assert order.version == 3  # created, payment started, payment succeeded: nothing else touched it


def test_twenty_simultaneous_retries_of_a_failed_order_make_one_new_attempt_and_one_charge(system, gadget):
    order = place_order({gadget: 1})
    declined = process_payment(order_id=order.pk, actor=system, token="tok_decline")
    assert declined.status == Payment.Status.FAILED

    result = race(*[partial(process_payment, order_id=order.pk, actor=system, token="tok_visa")] * RACERS)

    assert len(result.values) == 1
    assert all(isinstance(error, (PaymentInProgress, InvalidTransition)) for error in result.errors), result.errors
    _assert_paid_exactly_once(order)
    attempts = Payment.objects.filter(order=order)
    assert sorted(attempts.values_list("status", flat=True)) == [Payment.Status.COMPLETED, Payment.Status.FAILED]
    assert len({str(key) for key in attempts.values_list("idempotency_key", flat=True)}) == 2
    assert [charge.succeeded for charge in sorted(_charges_for(order), key=lambda charge: charge.pk)] == [False, True]
    assert _events(order, "payment.started") == 2
    assert _events(order, "payment.failed") == 1


def test_reconciliation_racing_the_late_answer_settles_a_timed_out_payment_exactly_once(system, gadget):
    gateway = FakeGateway("fake")
    for _round in range(5):
        order = place_order({gadget: 1})
        payment = process_payment(order_id=order.pk, actor=system, token="tok_timeout")
        payment.refresh_from_db()
        order.refresh_from_db()
        assert (payment.status, order.status) == (Payment.Status.PROCESSING, Order.Status.PROCESSING)
        answer = gateway.find_charge(idempotency_key=str(payment.idempotency_key))
        assert answer is not None and answer.succeeded
        version = order.version

        result = race(
            partial(settle_payment, payment_id=payment.pk, result=answer, actor=system),
            partial(reconcile_payments, older_than=timedelta(0)),
            partial(reconcile_payments, older_than=timedelta(0)),
        )

        assert not result.errors, result.errors
        settled = _assert_paid_exactly_once(order)
        assert settled.pk == payment.pk
        assert settled.gateway_transaction_id == answer.reference
        assert len(_charges_for(order)) == 1
        assert _events(order, "payment.failed") == 0
        order.refresh_from_db()
        assert order.version == version + 1, "the settlement must change the order exactly once"


def test_reconciliation_with_the_default_delay_leaves_payments_in_flight_alone(system, gadget):
    orders = [place_order({gadget: 1}) for _ in range(5)]

    result = race(
        *[partial(process_payment, order_id=order.pk, actor=system, token="tok_visa") for order in orders],
        reconcile_payments,
        reconcile_payments,
    )

    assert not result.errors, result.errors
    for order in orders:
        _assert_paid_exactly_once(order)
        assert _events(order, "payment.failed") == 0
    assert Product.objects.get(pk=gadget.pk).stock == 1000 - len(orders)


def test_a_payment_racing_a_cancel_of_the_unpaid_order_keeps_money_and_stock_consistent(system, staff, gadget):
    outcomes = set()
    for _round in range(5):
        order = place_order({gadget: 3})
        stock_before = Product.objects.get(pk=gadget.pk).stock

        result = race(
            partial(process_payment, order_id=order.pk, actor=system, token="tok_visa"),
            partial(cancel_order, order_id=order.pk, actor=staff),
        )

        assert result.values, "the first to lock the order must succeed"
        assert all(isinstance(error, (PaymentInProgress, InvalidTransition)) for error in result.errors), result.errors
        order.refresh_from_db()
        charges = [charge for charge in _charges_for(order) if charge.succeeded]
        charged = sum((charge.amount for charge in charges), Decimal(0))
        refunded = sum(
            SandboxTransaction.objects.filter(
                kind=SandboxTransaction.Kind.REFUND,
                charge_reference__in=[charge.reference for charge in charges],
                succeeded=True,
            ).values_list("amount", flat=True),
            Decimal(0),
        )
        stock = Product.objects.get(pk=gadget.pk).stock
        if order.status == Order.Status.CONFIRMED:
            # Paid first; the cancel found it PROCESSING and was refused.
            assert (charged, refunded, order.refunded_amount, stock) == (order.total, 0, 0, stock_before)
        else:
            # Cancelled unpaid (never charged), or paid and then cancelled with a full refund.
            assert order.status == Order.Status.CANCELLED
            assert stock == stock_before + 3
            assert charged in (0, order.total)
            assert order.refunded_amount == refunded == charged
            assert Payment.objects.filter(order=order, status=Payment.Status.COMPLETED).count() == 0
        assert _events(order, "payment.succeeded") == (1 if charged else 0)
        outcomes.add(order.status)
    assert outcomes <= {Order.Status.CONFIRMED, Order.Status.CANCELLED}
