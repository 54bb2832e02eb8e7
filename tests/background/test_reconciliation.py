"""Reconciliation of payments left PROCESSING by a crash between charging and recording: settled from the
gateway's ledger, exactly once, even when two reconcilers run at the same instant on PostgreSQL."""

import contextlib
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from shop.gateways.fake import FakeGateway
from shop.models import Order, OrderEvent, Payment, SandboxTransaction, WebhookDelivery, WebhookEndpoint
from shop.services import process_payment, reconcile_payments
from shop.services.payments import _start_payment
from tests.background.conftest import SEND_EMAIL, assert_no_failed_tasks, queued_calls, run_worker
from tests.concurrency.race import race

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]


@pytest.fixture
def both_reconcilers_ask_the_gateway(monkeypatch):
    """The worst interleaving, every time: neither reconciler settles before both have read the payment as
    PROCESSING and asked the gateway about it. (A reconciler that skips a payment the other one holds does not
    reach the gateway; the other then goes on after a short wait.)"""
    meeting = threading.Barrier(2)
    real_find_charge = FakeGateway.find_charge

    def find_charge(self, *, idempotency_key):
        with contextlib.suppress(threading.BrokenBarrierError):
            meeting.wait(timeout=2)
        return real_find_charge(self, idempotency_key=idempotency_key)

    monkeypatch.setattr(FakeGateway, "find_charge", find_charge)


def _crashed_after_charging(order, system) -> Payment:
    """The charge reached the gateway, but its answer was lost: the payment stays PROCESSING."""
    payment = process_payment(order_id=order.pk, actor=system, token="tok_timeout")
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.PROCESSING
    assert SandboxTransaction.objects.filter(idempotency_key=str(payment.idempotency_key)).count() == 1
    return payment


def _crashed_before_charging(order, system) -> Payment:
    """Marked PROCESSING, then the process died before the gateway heard of the charge."""
    payment = _start_payment(
        order_id=order.pk, actor=system, gateway="fake", payment_method=None, expected_version=None
    )
    assert not SandboxTransaction.objects.exists()
    return payment


def _make_stale(payment: Payment) -> None:
    Payment.objects.filter(pk=payment.pk).update(processing_started_at=timezone.now() - timedelta(minutes=10))


def _events(order: Order, kind: str) -> int:
    return OrderEvent.objects.filter(order=order, kind=kind).count()


@pytest.mark.parametrize(
    ("crash", "payment_status", "order_status", "event", "charges"),
    [
        (_crashed_after_charging, Payment.Status.COMPLETED, Order.Status.CONFIRMED, "payment.succeeded", 1),
        (_crashed_before_charging, Payment.Status.FAILED, Order.Status.FAILED, "payment.failed", 0),
    ],
    ids=["gateway-charged", "gateway-never-received"],
)
def test_two_reconcilers_at_once_settle_a_stuck_payment_exactly_once_as_the_gateway_says(
    order, system, both_reconcilers_ask_the_gateway, mailoutbox, crash, payment_status, order_status, event, charges
):
    WebhookEndpoint.objects.create(url="http://127.0.0.1:9/hooks", events=["order.paid", "order.payment_failed"])
    payment = crash(order, system)
    _make_stale(payment)

    result = race(reconcile_payments, reconcile_payments)

    assert result.errors == []
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.status, order.status) == (payment_status, order_status)
    assert _events(order, event) == 1
    assert _events(order, "payment.succeeded") + _events(order, "payment.failed") == 1
    assert SandboxTransaction.objects.filter(kind=SandboxTransaction.Kind.CHARGE).count() == charges
    if charges:
        assert payment.gateway_transaction_id == SandboxTransaction.objects.get().reference
    else:
        assert payment.failure_reason == "The gateway never received the request."
    assert WebhookDelivery.objects.count() == 1
    emails = [call for call in queued_calls(SEND_EMAIL) if call[2] != "order_placed"]
    assert emails == ([] if charges else [("send_order_email", order.pk, "payment_failed")])

    run_worker()

    assert_no_failed_tasks()
    sent = [message.subject for message in mailoutbox if "failed" in message.subject]
    assert sent == ([] if charges else [f"The payment for order {order.number} failed"])


def test_two_reconcilers_at_once_report_the_payment_they_settled_once_between_them(
    order, system, both_reconcilers_ask_the_gateway
):
    payment = _crashed_after_charging(order, system)
    _make_stale(payment)

    result = race(reconcile_payments, reconcile_payments)

    assert result.errors == []
    confirmed = [pk for report in result.values for pk in report.payments_confirmed]
    assert _events(order, "payment.succeeded") == 1
    assert confirmed == [payment.pk], (
        f"the two reports list {len(confirmed)} confirmations of a payment settled once; "
        "the scheduler's log then claims it was confirmed twice"
    )
