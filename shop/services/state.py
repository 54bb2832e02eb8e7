"""Changing an order's row: the state machine check, the version bump and the audit event, together."""

from decimal import Decimal

from django.db.models import F
from django.utils import timezone

from shop.exceptions import InvalidTransition, VersionConflict
from shop.models import Order, OrderEvent

from .actors import Actor
from .notifications import enqueue_consequences


def check_version(order: Order, expected_version: int | None) -> None:
    if expected_version is not None and int(expected_version) != order.version:
        raise VersionConflict(
            f"Order {order.number} is at version {order.version}, not {expected_version}: "
            "it was changed by someone else. Reload it and try again.",
            expected_version=int(expected_version),
            current_version=order.version,
            status=order.status,
        )


def ensure_transition(order: Order, to_status: str) -> None:
    if not order.can_transition_to(to_status):
        raise InvalidTransition(
            f"Order {order.number} is {order.status}; it cannot become {to_status}.",
            status=order.status,
            requested=to_status,
        )


def record_event(
    order: Order,
    *,
    kind: str,
    actor: Actor,
    from_status: str = "",
    to_status: str = "",
    message: str = "",
    data: dict | None = None,
) -> OrderEvent:
    event = OrderEvent.objects.create(
        order=order,
        kind=kind,
        actor_kind=actor.kind,
        actor_user=actor.user,
        actor_label=actor.label[:254],
        from_status=from_status,
        to_status=to_status,
        message=message[:500],
        data=data or {},
    )
    enqueue_consequences(order, event)
    return event


def change_order(
    order: Order,
    *,
    kind: str,
    actor: Actor,
    status: str | None = None,
    refunded_delta: Decimal | None = None,
    message: str = "",
    data: dict | None = None,
) -> OrderEvent:
    """Apply one change to a locked order: move its status, bump its version, record the event.

    The caller holds the row lock, so the in-memory copy can follow the F() updates exactly.
    """
    from_status = order.status
    if status is not None and status != from_status:
        ensure_transition(order, status)
    updates = {"version": F("version") + 1, "updated_at": timezone.now()}
    if status is not None:
        updates["status"] = status
    if refunded_delta:
        updates["refunded_amount"] = F("refunded_amount") + refunded_delta
    Order.objects.filter(pk=order.pk).update(**updates)

    order.version += 1
    order.updated_at = updates["updated_at"]
    order.status = status or from_status
    if refunded_delta:
        order.refunded_amount += refunded_delta
    moved = order.status != from_status
    return record_event(
        order,
        kind=kind,
        actor=actor,
        from_status=from_status if moved else "",
        to_status=order.status if moved else "",
        message=message,
        data=data,
    )
