"""manage.py reconcile_payments: payments left PROCESSING and refunds left PENDING are settled by asking the
gateway, once, and never by charging again."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from shop.models import Order, Payment, Refund, SandboxTransaction
from shop.services import process_payment, refund_order
from shop.services.payments import _start_payment
from tests.factories import paid_order

pytestmark = pytest.mark.django_db


def reconcile(*args) -> str:
    out = StringIO()
    call_command("reconcile_payments", *args, stdout=out)
    return out.getvalue()


def _charges() -> int:
    return SandboxTransaction.objects.filter(kind=SandboxTransaction.Kind.CHARGE).count()


@pytest.fixture
def timed_out(order, system):
    """The order after a tok_timeout payment: charged at the gateway, but still PROCESSING here."""
    payment = process_payment(order_id=order.pk, actor=system, token="tok_timeout")
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, order.status) == (Payment.Status.PROCESSING, Order.Status.PROCESSING)
    return payment


def test_a_timed_out_payment_is_confirmed_from_the_gateways_record(order, timed_out):
    output = reconcile("--older-than", "0")

    timed_out.refresh_from_db()
    order.refresh_from_db()
    charge = SandboxTransaction.objects.get(kind=SandboxTransaction.Kind.CHARGE)
    assert timed_out.status == Payment.Status.COMPLETED
    assert timed_out.gateway_transaction_id == charge.reference
    assert timed_out.processed_at is not None
    assert order.status == Order.Status.CONFIRMED
    assert order.events.last().kind == "payment.succeeded"
    assert output.strip() == "Reconciled: 1 payment(s) confirmed, 0 failed, 0 refund(s) settled."
    assert _charges() == 1


def test_reconciling_again_changes_nothing(order, timed_out):
    reconcile("--older-than", "0")
    order.refresh_from_db()
    version, events = order.version, order.events.count()

    output = reconcile("--older-than", "0")

    order.refresh_from_db()
    assert (order.status, order.version, order.events.count()) == (Order.Status.CONFIRMED, version, events)
    assert output.strip() == "Reconciled: 0 payment(s) confirmed, 0 failed, 0 refund(s) settled."
    assert _charges() == 1


def test_a_recent_payment_is_left_alone_by_default(order, timed_out):
    output = reconcile()

    timed_out.refresh_from_db()
    order.refresh_from_db()
    assert (timed_out.status, order.status) == (Payment.Status.PROCESSING, Order.Status.PROCESSING)
    assert "0 payment(s) confirmed, 0 failed" in output


def test_a_payment_the_gateway_never_received_fails_the_order(order, system):
    payment = _start_payment(
        order_id=order.pk, actor=system, gateway="fake", payment_method=None, expected_version=None
    )
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.PROCESSING

    output = reconcile("--older-than", "0")

    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == Payment.Status.FAILED
    assert payment.failure_reason == "The gateway never received the request."
    assert payment.gateway_transaction_id is None
    assert order.status == Order.Status.FAILED
    assert output.strip() == "Reconciled: 0 payment(s) confirmed, 1 failed, 0 refund(s) settled."
    assert _charges() == 0


def test_an_order_failed_by_reconciliation_can_be_paid_again(order, system):
    _start_payment(order_id=order.pk, actor=system, gateway="fake", payment_method=None, expected_version=None)
    reconcile("--older-than", "0")

    retry = process_payment(order_id=order.pk, actor=system, token="tok_visa")

    order.refresh_from_db()
    assert (retry.status, order.status) == (Payment.Status.COMPLETED, Order.Status.CONFIRMED)
    assert order.payments.count() == 2
    assert _charges() == 1


def test_a_payment_declined_at_the_gateway_but_unrecorded_is_failed(order, system):
    payment = _start_payment(
        order_id=order.pk, actor=system, gateway="fake", payment_method=None, expected_version=None
    )
    # The gateway answered "declined", but the process died before phase 3.
    provider_answer = SandboxTransaction.objects.create(
        kind=SandboxTransaction.Kind.CHARGE,
        idempotency_key=str(payment.idempotency_key),
        reference="fake_declined",
        amount=payment.amount,
        currency="USD",
        succeeded=False,
        decline_code="card_declined",
        message="Your card was declined.",
    )

    reconcile("--older-than", "0")

    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, payment.failure_reason) == (Payment.Status.FAILED, provider_answer.message)
    assert order.status == Order.Status.FAILED


def test_a_refund_whose_answer_was_lost_is_settled(laptop, mouse, system):
    order = paid_order({laptop: 1, mouse: 2}, token="tok_refund_timeout", shipping_cost="5.00")
    refund = refund_order(order_id=order.pk, actor=system)
    assert refund.status == Refund.Status.PENDING

    output = reconcile("--older-than", "0")

    refund.refresh_from_db()
    order.refresh_from_db()
    payment = order.payments.get()
    assert refund.status == Refund.Status.SUCCEEDED
    assert refund.gateway_reference
    assert (payment.status, payment.refunded_amount) == (Payment.Status.REFUNDED, Decimal("1055.00"))
    assert (order.status, order.refunded_amount) == (Order.Status.REFUNDED, Decimal("1055.00"))
    assert output.strip() == "Reconciled: 0 payment(s) confirmed, 0 failed, 1 refund(s) settled."
    assert SandboxTransaction.objects.filter(kind=SandboxTransaction.Kind.REFUND).count() == 1
