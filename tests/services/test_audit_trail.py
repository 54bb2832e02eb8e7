"""Every change leaves an event, written in the same transaction as the change."""

from unittest import mock

import pytest
from django.db import IntegrityError

from shop.models import Order, OrderEvent, Product
from shop.services import Actor, cancel_order, complete_order, process_payment, refund_order
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_full_life_leaves_one_event_per_change_with_versions_rising_by_one(order, staff, system):
    process_payment(order_id=order.pk, actor=system)
    complete_order(order_id=order.pk, actor=staff)
    refund_order(order_id=order.pk, actor=staff, amount="55.00", reason="Late delivery")
    refund_order(order_id=order.pk, actor=staff)

    order.refresh_from_db()
    kinds = list(order.events.values_list("kind", flat=True))
    assert kinds == [
        "order.created",
        "payment.started",
        "payment.succeeded",
        "order.completed",
        "refund.requested",
        "refund.succeeded",
        "refund.requested",
        "refund.succeeded",
    ]
    assert order.version == len(kinds)
    assert order.status == Order.Status.REFUNDED


def test_when_writing_the_event_fails_the_change_is_rolled_back(order, staff, laptop):
    with (
        mock.patch("shop.services.state.OrderEvent.objects.create", side_effect=IntegrityError("disk full")),
        pytest.raises(IntegrityError),
    ):
        cancel_order(order_id=order.pk, actor=staff)

    order.refresh_from_db()
    assert (order.status, order.version) == (Order.Status.PENDING, 1)
    assert Product.objects.get(pk=laptop.pk).stock == 9


def test_deleting_a_staff_user_keeps_their_events_and_who_they_were(order):
    user = UserFactory(username="alice", is_staff=True)
    cancel_order(order_id=order.pk, actor=Actor.staff(user), reason="Duplicate order")
    user.delete()

    event = OrderEvent.objects.get(kind="order.cancelled")
    assert (event.actor_kind, event.actor_label, event.message) == ("STAFF", "alice", "Duplicate order")
