"""Refunds in the same three phases as payments: reserve under lock, call the gateway, record the answer.

A PENDING refund counts against what can still be refunded, so two refunds racing for the whole
remainder leave exactly one, and a refund racing a cancel never gives back more than was captured.
"""

from decimal import Decimal

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from shop.exceptions import InvalidOrderInput, RefundFailed, RefundInProgress, RefundNotAllowed
from shop.gateways import GatewayError, GatewayResult, GatewayTimeout, get_gateway
from shop.locks import lock_order, lock_payment, lock_payments_of, lock_refund
from shop.models import Order, Payment, Refund
from shop.models.orders import OrderStatus

from .actors import Actor
from .inventory import release_stock
from .state import change_order, check_version, ensure_transition
from .validation import validated_money


def refund_order(
    *,
    order_id: int,
    actor: Actor,
    amount: Decimal | str | None = None,
    reason: str = "",
    restock: bool = False,
    expected_version: int | None = None,
) -> Refund:
    """Give back `amount` (default: all that remains) of a paid order. Partial refunds add up; the one
    that reaches the captured amount moves the order to REFUNDED (and, with `restock`, returns its stock).

    Returns the refund: SUCCEEDED, or PENDING if the gateway's answer was lost. A refusal by the gateway
    is recorded and raised as `RefundFailed`.
    """
    with transaction.atomic():
        order = lock_order(order_id)
        check_version(order, expected_version)
        refund = reserve_refund(order, actor=actor, amount=amount, reason=reason, restock=restock)
    return carry_out_refund(refund, actor=actor)


def reserve_refund(
    order: Order,
    *,
    actor: Actor,
    amount: Decimal | str | None,
    reason: str,
    restock: bool = False,
    cancels_order: bool = False,
) -> Refund:
    """Phase 1, inside the caller's transaction with the order locked: check and reserve the amount."""
    ensure_transition(order, OrderStatus.CANCELLED if cancels_order else OrderStatus.REFUNDED)
    payment = _captured_payment(order)
    pending = Refund.objects.filter(payment=payment, status=Refund.Status.PENDING)
    if cancels_order and pending.exists():
        raise RefundInProgress(f"Order {order.number} has a refund in progress; cancel it afterwards.")
    reserved = pending.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")
    refundable = payment.amount - payment.refunded_amount - reserved
    if refundable <= 0:
        raise RefundNotAllowed(f"Nothing is left to refund on order {order.number}.", refundable=Decimal("0.00"))
    amount = refundable if amount is None else validated_money(amount, field="amount")
    if amount <= 0 or amount > refundable:
        raise RefundNotAllowed(
            f"A refund on order {order.number} must be between 0.01 and {refundable}.",
            requested=amount,
            refundable=refundable,
        )
    if restock and amount != refundable:
        raise InvalidOrderInput("Stock can only be returned with a refund of everything that remains.", field="restock")
    refund = Refund.objects.create(
        payment=payment,
        amount=amount,
        reason=reason[:255],
        cancels_order=cancels_order,
        restock=restock or cancels_order,
        created_by=actor.user,
    )
    refund.payment = payment
    change_order(
        order,
        kind="refund.requested",
        actor=actor,
        message=f"Refund of {amount} {payment.currency} requested" + (f": {reason}" if reason else "."),
        data={"refund_id": refund.pk, "amount": amount, "cancels_order": cancels_order},
    )
    return refund


def carry_out_refund(refund: Refund, *, actor: Actor) -> Refund:
    """Phases 2 and 3: ask the gateway, then record its answer."""
    payment = refund.payment
    try:
        result = get_gateway(payment.gateway).refund(
            charge_reference=payment.gateway_transaction_id,
            amount=refund.amount,
            currency=payment.currency,
            idempotency_key=str(refund.idempotency_key),
        )
    except GatewayTimeout:
        return refund
    except GatewayError as error:
        result = GatewayResult(succeeded=False, decline_code="gateway_error", message=str(error))
    refund = settle_refund(refund_id=refund.pk, result=result, actor=actor)
    if refund.status == Refund.Status.FAILED:
        raise RefundFailed(f"The refund was refused: {refund.failure_reason}", refund_id=refund.pk)
    return refund


def settle_refund(*, refund_id: int, result: GatewayResult, actor: Actor) -> Refund:
    """Phase 3: record the gateway's answer on a PENDING refund, exactly once (`settled_now` says if by this call)."""
    order_id, payment_id = Refund.objects.values_list("payment__order_id", "payment_id").get(pk=refund_id)
    with transaction.atomic():
        order = lock_order(order_id)
        payment = lock_payment(payment_id)
        refund = lock_refund(refund_id)
        refund.settled_now = refund.status == Refund.Status.PENDING
        if not refund.settled_now:
            return refund
        refund.processed_at = timezone.now()
        if result.succeeded:
            refund.status = Refund.Status.SUCCEEDED
            refund.gateway_reference = result.reference
            _apply_refund(order, payment, refund, actor=actor)
        else:
            refund.status = Refund.Status.FAILED
            refund.failure_reason = (result.message or result.decline_code or "Refund declined.")[:255]
            change_order(
                order,
                kind="refund.failed",
                actor=actor,
                message=f"Refund of {refund.amount} failed: {refund.failure_reason}",
                data={"refund_id": refund.pk, "decline_code": result.decline_code},
            )
        refund.save(update_fields=["status", "gateway_reference", "failure_reason", "processed_at"])
    return refund


def _apply_refund(order: Order, payment: Payment, refund: Refund, *, actor: Actor) -> None:
    payment.refunded_amount += refund.amount
    payment.status = (
        Payment.Status.REFUNDED if payment.refunded_amount == payment.amount else Payment.Status.PARTIALLY_REFUNDED
    )
    Payment.objects.filter(pk=payment.pk).update(
        refunded_amount=F("refunded_amount") + refund.amount, status=payment.status, updated_at=timezone.now()
    )
    fully_refunded = payment.status == Payment.Status.REFUNDED
    if refund.cancels_order:
        new_status, kind = OrderStatus.CANCELLED, "order.cancelled"
    else:
        new_status, kind = (OrderStatus.REFUNDED if fully_refunded else None), "refund.succeeded"
    restocked = refund.restock and fully_refunded
    if restocked:
        release_stock(list(order.items.all()))
    change_order(
        order,
        kind=kind,
        actor=actor,
        status=new_status,
        refunded_delta=refund.amount,
        message=("Order cancelled; refunded " if refund.cancels_order else "Refunded ")
        + f"{refund.amount} {payment.currency}"
        + (f": {refund.reason}" if refund.reason else "."),
        data={
            "refund_id": refund.pk,
            "amount": refund.amount,
            "reference": refund.gateway_reference,
            "restocked": restocked,
        },
    )


def _captured_payment(order: Order) -> Payment:
    captured = [p for p in lock_payments_of(order) if p.is_captured]
    if not captured:
        raise RefundNotAllowed(f"Order {order.number} has no captured payment to refund.")
    return captured[0]
