"""Taking payment in three atomic phases, so a network call never runs inside a transaction or a lock.

1. Lock the order, check it may be paid, mark order and payment PROCESSING, commit.
2. Call the gateway with the payment's idempotency key, outside any transaction.
3. Lock again and record the answer, unless someone (reconciliation) already did.

A concurrent second attempt finds the order PROCESSING and is refused: one charge at most. A timeout or
a crash leaves the payment PROCESSING, and `reconcile_payments` settles it later by asking the gateway.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from shop.exceptions import InvalidOrderInput, PaymentInProgress
from shop.gateways import GatewayError, GatewayResult, GatewayTimeout, get_gateway
from shop.locks import lock_order, lock_payment, lock_payments_of
from shop.models import Payment, PaymentMethod, Refund
from shop.models.orders import OrderStatus

from .actors import Actor
from .state import change_order, check_version, ensure_transition, record_event


def process_payment(
    *,
    order_id: int,
    actor: Actor,
    gateway: str | None = None,
    token: str = "",
    payment_method: str | None = None,
    expected_version: int | None = None,
) -> Payment:
    """Charge the order's total once. Returns the attempt: COMPLETED, FAILED (with the reason), or still
    PROCESSING when the gateway's answer was lost (reconciliation settles it)."""
    provider = get_gateway(gateway)
    if payment_method is not None and payment_method not in PaymentMethod.values:
        raise InvalidOrderInput(
            f"Unknown payment method {payment_method!r}.", field="payment_method", allowed=PaymentMethod.values
        )
    payment = _start_payment(
        order_id=order_id,
        actor=actor,
        gateway=provider.name,
        payment_method=payment_method,
        expected_version=expected_version,
    )
    try:
        result = provider.charge(
            amount=payment.amount,
            currency=payment.currency,
            token=token,
            idempotency_key=str(payment.idempotency_key),
            description=payment.order.number,
        )
    except GatewayTimeout:
        _note_unknown_outcome(payment, actor=actor)
        return payment
    except GatewayError as error:
        result = GatewayResult(succeeded=False, decline_code="gateway_error", message=str(error))
    return settle_payment(payment_id=payment.pk, result=result, actor=actor)


def settle_payment(*, payment_id: int, result: GatewayResult, actor: Actor) -> Payment:
    """Phase 3: record the gateway's answer on a PROCESSING payment and its order, exactly once.

    The returned payment's `settled_now` says whether this call recorded it (False: someone else already had).
    """
    order_id = Payment.objects.values_list("order_id", flat=True).get(pk=payment_id)
    with transaction.atomic():
        order = lock_order(order_id)
        payment = lock_payment(payment_id)
        payment.order = order
        payment.settled_now = payment.status == Payment.Status.PROCESSING
        if not payment.settled_now:
            return payment
        payment.processed_at = timezone.now()
        data = {"payment_id": payment.pk, "gateway": payment.gateway, "amount": payment.amount}
        if result.succeeded:
            payment.status = Payment.Status.COMPLETED
            payment.gateway_transaction_id = result.reference
            change_order(
                order,
                kind="payment.succeeded",
                actor=actor,
                status=OrderStatus.CONFIRMED,
                message=f"Payment of {payment.amount} {payment.currency} captured.",
                data={**data, "reference": result.reference},
            )
        else:
            payment.status = Payment.Status.FAILED
            payment.failure_reason = (result.message or result.decline_code or "Payment declined.")[:255]
            change_order(
                order,
                kind="payment.failed",
                actor=actor,
                status=OrderStatus.FAILED,
                message=f"Payment failed: {payment.failure_reason}",
                data={**data, "decline_code": result.decline_code},
            )
        payment.save(update_fields=["status", "gateway_transaction_id", "failure_reason", "processed_at", "updated_at"])
    return payment


@dataclass
class ReconcileReport:
    payments_confirmed: list[int] = field(default_factory=list)
    payments_failed: list[int] = field(default_factory=list)
    refunds_settled: list[int] = field(default_factory=list)


def reconcile_payments(*, older_than: timedelta | None = None, actor: Actor | None = None) -> ReconcileReport:
    """Settle payments and refunds left PROCESSING / PENDING by a timeout or a crash, by asking the gateway.

    Safe to run from several processes at once, and beside the original requests: settling happens under
    the order's row lock and only while the payment is still PROCESSING, so each is settled exactly once.
    """
    from .refunds import settle_refund

    if older_than is None:
        older_than = timedelta(seconds=settings.PAYMENT_RECONCILE_AFTER_SECONDS)
    actor = actor or Actor.system("reconciliation")
    cutoff = timezone.now() - older_than
    report = ReconcileReport()
    stuck = Payment.objects.filter(status=Payment.Status.PROCESSING, processing_started_at__lte=cutoff)
    for payment in stuck.only("pk", "gateway", "idempotency_key"):
        found = get_gateway(payment.gateway).find_charge(idempotency_key=str(payment.idempotency_key))
        settled = settle_payment(payment_id=payment.pk, result=found or _never_received(), actor=actor)
        if not settled.settled_now:
            continue  # the request's own last phase, or another reconciler, got there first
        if settled.status == Payment.Status.COMPLETED:
            report.payments_confirmed.append(settled.pk)
        elif settled.status == Payment.Status.FAILED:
            report.payments_failed.append(settled.pk)
    pending = Refund.objects.filter(status=Refund.Status.PENDING, created_at__lte=cutoff).select_related("payment")
    for refund in pending:
        found = get_gateway(refund.payment.gateway).find_refund(idempotency_key=str(refund.idempotency_key))
        settled_refund = settle_refund(refund_id=refund.pk, result=found or _never_received(), actor=actor)
        if settled_refund.settled_now:
            report.refunds_settled.append(refund.pk)
    return report


def _never_received() -> GatewayResult:
    return GatewayResult(
        succeeded=False, decline_code="not_received", message="The gateway never received the request."
    )


def _start_payment(*, order_id, actor, gateway, payment_method, expected_version) -> Payment:
    """Phase 1: claim the order for this payment attempt and commit, so any second attempt is refused."""
    with transaction.atomic():
        order = lock_order(order_id)
        check_version(order, expected_version)
        if order.status == OrderStatus.PROCESSING:
            raise PaymentInProgress(f"A payment for order {order.number} is already being processed.")
        ensure_transition(order, OrderStatus.PROCESSING)
        payments = lock_payments_of(order)
        payment = next((p for p in payments if p.status == Payment.Status.PENDING), None)
        if payment is None:
            # A retry after a failure is a new attempt with its own idempotency key.
            last_method = payments[-1].method if payments else None
            payment = Payment(
                order=order, method=payment_method or last_method, amount=order.total, currency=order.currency
            )
        elif payment_method:
            payment.method = payment_method
        payment.status = Payment.Status.PROCESSING
        payment.gateway = gateway
        payment.processing_started_at = timezone.now()
        payment.save()
        payment.order = order
        change_order(
            order,
            kind="payment.started",
            actor=actor,
            status=OrderStatus.PROCESSING,
            message=f"Payment of {payment.amount} {payment.currency} started via {gateway}.",
            data={"payment_id": payment.pk, "gateway": gateway, "method": payment.method},
        )
    return payment


def _note_unknown_outcome(payment: Payment, *, actor: Actor) -> None:
    record_event(
        payment.order,
        kind="payment.outcome_unknown",
        actor=actor,
        message="The gateway did not answer in time; the payment will be settled by reconciliation.",
        data={"payment_id": payment.pk},
    )
