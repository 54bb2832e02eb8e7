"""Placing an order from a checkout form exactly once, however often the form is sent."""

import hashlib
import hmac
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction

from shop.models import CheckoutSubmission, Order

from .orders import create_order


@dataclass(frozen=True)
class CheckoutResult:
    order: Order
    created: bool


def new_checkout_key() -> uuid.UUID:
    return uuid.uuid4()


def guest_token_for(key: uuid.UUID) -> str:
    """The guest's access token for the order a checkout key places: derived, so a repeated submission of the
    same form can lead the shopper to the same private order link (only its digest is stored)."""
    return hmac.new(settings.SECRET_KEY.encode(), f"checkout:{key}".encode(), hashlib.sha256).hexdigest()


def place_order_once(*, key: uuid.UUID, **order_fields) -> CheckoutResult:
    """`create_order` unless this checkout key already placed an order, in which case that order.

    The key's row is inserted in the order's own transaction, so it exists exactly when the order does; a
    concurrent submission of the same key waits on the unique index and then finds the first one's order.
    """
    existing = order_placed_by(key)
    if existing:
        return CheckoutResult(existing, created=False)
    try:
        with transaction.atomic():
            order = create_order(**order_fields, access_token=guest_token_for(key))
            CheckoutSubmission.objects.create(key=key, order=order)
    except IntegrityError:
        existing = order_placed_by(key)
        if existing is None:
            raise
        return CheckoutResult(existing, created=False)
    return CheckoutResult(order, created=True)


def order_placed_by(key: uuid.UUID) -> Order | None:
    """The order a checkout key placed, if it placed one."""
    submission = CheckoutSubmission.objects.select_related("order").filter(key=key).first()
    return submission.order if submission else None
