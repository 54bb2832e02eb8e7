"""process_payment: phases, outcomes of the gateway, retries, and refusals."""

from datetime import timedelta
from decimal import Decimal

import pytest

from shop.exceptions import (
    GatewayNotConfigured,
    InvalidOrderInput,
    InvalidTransition,
    PaymentInProgress,
    VersionConflict,
)
from shop.models import Order, Payment, SandboxTransaction
from shop.services import process_payment, reconcile_payments

pytestmark = pytest.mark.django_db


def _charges() -> int:
    return SandboxTransaction.objects.filter(kind=SandboxTransaction.Kind.CHARGE).count()


def test_a_successful_payment_confirms_the_order_and_records_the_gateway_reference(order, system):
    payment = process_payment(order_id=order.pk, actor=system, gateway="stripe", token="tok_visa")

    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == Order.Status.CONFIRMED
    assert payment.status == Payment.Status.COMPLETED
    assert payment.gateway == "stripe"
    assert payment.gateway_transaction_id.startswith("fake_")
    assert payment.processed_at is not None
    assert [(e.kind, e.from_status, e.to_status) for e in order.events.all()] == [
        ("order.created", "", "PENDING"),
        ("payment.started", "PENDING", "PROCESSING"),
        ("payment.succeeded", "PROCESSING", "CONFIRMED"),
    ]
    assert order.version == 3
    assert _charges() == 1


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("tok_decline", "Your card was declined."),
        ("tok_insufficient_funds", "Your card has insufficient funds."),
        ("tok_gateway_error", "The payment provider could not process the request."),
    ],
)
def test_a_refused_payment_fails_the_order_with_the_reason_and_charges_nothing(order, system, token, reason):
    payment = process_payment(order_id=order.pk, actor=system, token=token)

    order.refresh_from_db()
    assert order.status == Order.Status.FAILED
    assert (payment.status, payment.failure_reason) == (Payment.Status.FAILED, reason)
    assert order.events.last().kind == "payment.failed"
    assert not SandboxTransaction.objects.filter(succeeded=True).exists()


def test_a_failed_order_can_be_paid_again_as_a_new_attempt_with_its_own_key(order, system):
    failed = process_payment(order_id=order.pk, actor=system, token="tok_decline")

    retried = process_payment(order_id=order.pk, actor=system, token="tok_visa", payment_method="DEBIT_CARD")

    order.refresh_from_db()
    assert order.status == Order.Status.CONFIRMED
    assert retried.pk != failed.pk and retried.idempotency_key != failed.idempotency_key
    assert (retried.status, retried.method, retried.amount) == (Payment.Status.COMPLETED, "DEBIT_CARD", order.total)
    assert list(order.payments.order_by("pk").values_list("status", flat=True)) == ["FAILED", "COMPLETED"]


def test_a_gateway_timeout_is_an_unknown_outcome_that_leaves_the_payment_processing(order, system):
    payment = process_payment(order_id=order.pk, actor=system, token="tok_timeout")

    order.refresh_from_db()
    assert payment.status == Payment.Status.PROCESSING
    assert order.status == Order.Status.PROCESSING
    assert order.events.last().kind == "payment.outcome_unknown"


def test_reconciliation_settles_a_timed_out_payment_that_was_charged_without_charging_again(order, system):
    payment = process_payment(order_id=order.pk, actor=system, token="tok_timeout")

    report = reconcile_payments(older_than=timedelta(0))

    payment.refresh_from_db()
    order.refresh_from_db()
    assert report.payments_confirmed == [payment.pk]
    assert payment.status == Payment.Status.COMPLETED and order.status == Order.Status.CONFIRMED
    assert order.events.last().actor_kind == "SYSTEM"
    assert _charges() == 1


def test_reconciliation_leaves_recent_processing_payments_to_their_request(order, system):
    process_payment(order_id=order.pk, actor=system, token="tok_timeout")

    report = reconcile_payments(older_than=timedelta(minutes=5))

    assert report.payments_confirmed == [] and report.payments_failed == []
    assert Order.objects.get(pk=order.pk).status == Order.Status.PROCESSING


def test_an_order_already_processing_refuses_a_second_payment(order, system):
    process_payment(order_id=order.pk, actor=system, token="tok_timeout")

    with pytest.raises(PaymentInProgress):
        process_payment(order_id=order.pk, actor=system)
    assert _charges() == 1


@pytest.mark.parametrize("paid_status", ["CONFIRMED"])
def test_a_paid_order_cannot_be_paid_again(confirmed_order, system, paid_status):
    assert confirmed_order.status == paid_status
    with pytest.raises(InvalidTransition):
        process_payment(order_id=confirmed_order.pk, actor=system)
    assert _charges() == 1


def test_an_unknown_gateway_is_refused_with_the_configured_names_and_changes_nothing(order, system):
    with pytest.raises(GatewayNotConfigured) as raised:
        process_payment(order_id=order.pk, actor=system, gateway="paypal-live")

    assert raised.value.details["configured"] == ["fake", "stripe"]
    order.refresh_from_db()
    assert (order.status, order.version) == (Order.Status.PENDING, 1)


def test_a_stale_expected_version_is_refused_and_changes_nothing(order, system):
    with pytest.raises(VersionConflict) as raised:
        process_payment(order_id=order.pk, actor=system, expected_version=order.version + 1)

    assert raised.value.details["current_version"] == 1
    assert Order.objects.get(pk=order.pk).status == Order.Status.PENDING
    assert _charges() == 0


def test_the_payment_amount_is_the_order_total(order, system):
    payment = process_payment(order_id=order.pk, actor=system)

    assert payment.amount == Decimal("1055.00") == SandboxTransaction.objects.get().amount


def test_an_unknown_payment_method_is_refused_before_anything_changes(order, system):
    with pytest.raises(InvalidOrderInput):
        process_payment(order_id=order.pk, actor=system, payment_method="GOLD_BARS")

    assert Order.objects.get(pk=order.pk).version == 1
    assert _charges() == 0


def test_the_chosen_payment_method_is_recorded_on_the_attempt(order, system):
    payment = process_payment(order_id=order.pk, actor=system, payment_method="PAYPAL")

    assert Payment.objects.get(pk=payment.pk).method == "PAYPAL"
