"""The transactional outbox: a service change enqueues its emails and webhook deliveries in its own transaction,
so a change that rolls back enqueues nothing and one that commits enqueues exactly the expected tasks."""

from decimal import Decimal

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from shop.exceptions import InsufficientStock
from shop.models import Order, Payment, WebhookDelivery, WebhookEndpoint
from shop.models.webhooks import WEBHOOK_EVENTS
from shop.services import (
    cancel_order,
    complete_order,
    process_payment,
    refund_order,
)
from tests.background.conftest import DELIVER_WEBHOOK, SEND_EMAIL, queued_calls
from tests.factories import paid_order, place_order

ALL_EVENTS = [name for name, _ in WEBHOOK_EVENTS]


class Boom(Exception):
    """Raised by a caller after the service returned, inside the caller's transaction."""


@pytest.fixture
def endpoint(db):
    return WebhookEndpoint.objects.create(url="http://127.0.0.1:9/hooks", events=ALL_EVENTS)


def _new_calls(before: set) -> list[tuple]:
    """The tasks enqueued since `before` (a set of task ids), as (name, *args), oldest first."""
    rows = DBTaskResult.objects.exclude(id__in=before).order_by("enqueued_at")
    return [(row.task_path.rsplit(".", 1)[1], *row.args_kwargs["args"]) for row in rows]


def _task_ids() -> set:
    return set(DBTaskResult.objects.values_list("id", flat=True))


def _deliveries_since(before: set) -> list[WebhookDelivery]:
    return list(WebhookDelivery.objects.exclude(pk__in=before).order_by("pk"))


# --- Committed changes enqueue exactly their tasks ---------------------------------------------------


@pytest.mark.django_db
def test_a_committed_order_without_endpoints_enqueues_exactly_one_order_placed_email(laptop):
    order = place_order({laptop: 1})

    assert queued_calls() == [("send_order_email", order.pk, "order_placed")]
    assert not WebhookDelivery.objects.exists()


@pytest.mark.django_db
def test_a_committed_order_enqueues_one_webhook_delivery_per_active_subscribed_endpoint(laptop):
    subscribed = WebhookEndpoint.objects.create(url="http://127.0.0.1:9/a", events=["order.created"])
    WebhookEndpoint.objects.create(url="http://127.0.0.1:9/b", events=["order.paid"])
    WebhookEndpoint.objects.create(url="http://127.0.0.1:9/c", events=["order.created"], is_active=False)

    order = place_order({laptop: 1})

    [delivery] = WebhookDelivery.objects.all()
    assert (delivery.endpoint, delivery.event, delivery.status) == (subscribed, "order.created", "PENDING")
    assert delivery.payload["order"]["number"] == order.number
    assert delivery.payload["change"]["kind"] == "order.created"
    assert queued_calls() == [("send_order_email", order.pk, "order_placed"), ("deliver_webhook", delivery.pk)]
    assert DBTaskResult.objects.filter(task_path=DELIVER_WEBHOOK).get().status == "READY"


@pytest.mark.django_db
def test_a_declined_payment_enqueues_the_payment_failed_email_and_webhook(order, system, endpoint):
    before, deliveries_before = _task_ids(), set(WebhookDelivery.objects.values_list("pk", flat=True))

    payment = process_payment(order_id=order.pk, actor=system, token="tok_decline")

    assert payment.status == Payment.Status.FAILED
    [delivery] = _deliveries_since(deliveries_before)
    assert delivery.event == "order.payment_failed"
    assert _new_calls(before) == [("send_order_email", order.pk, "payment_failed"), ("deliver_webhook", delivery.pk)]


@pytest.mark.django_db
def test_a_successful_payment_enqueues_the_order_paid_webhook_and_no_email(order, system, endpoint):
    before, deliveries_before = _task_ids(), set(WebhookDelivery.objects.values_list("pk", flat=True))

    process_payment(order_id=order.pk, actor=system, token="tok_visa")

    [delivery] = _deliveries_since(deliveries_before)
    assert delivery.event == "order.paid"
    assert delivery.payload["order"]["status"] == Order.Status.CONFIRMED
    assert _new_calls(before) == [("deliver_webhook", delivery.pk)]


@pytest.mark.django_db
def test_cancelling_an_unpaid_order_enqueues_the_order_cancelled_email_and_webhook(order, staff, endpoint):
    before, deliveries_before = _task_ids(), set(WebhookDelivery.objects.values_list("pk", flat=True))

    cancel_order(order_id=order.pk, actor=staff, reason="Customer asked")

    [delivery] = _deliveries_since(deliveries_before)
    assert delivery.event == "order.cancelled"
    assert _new_calls(before) == [("send_order_email", order.pk, "order_cancelled"), ("deliver_webhook", delivery.pk)]


@pytest.mark.django_db
def test_cancelling_a_paid_order_enqueues_one_cancelled_email_and_webhook_not_a_refund_email(
    confirmed_order, staff, endpoint
):
    before, deliveries_before = _task_ids(), set(WebhookDelivery.objects.values_list("pk", flat=True))

    cancel_order(order_id=confirmed_order.pk, actor=staff)

    [delivery] = _deliveries_since(deliveries_before)
    assert delivery.event == "order.cancelled"
    assert _new_calls(before) == [
        ("send_order_email", confirmed_order.pk, "order_cancelled"),
        ("deliver_webhook", delivery.pk),
    ]


@pytest.mark.django_db
def test_a_refund_enqueues_the_refund_issued_email_and_the_order_refunded_webhook(confirmed_order, staff, endpoint):
    before, deliveries_before = _task_ids(), set(WebhookDelivery.objects.values_list("pk", flat=True))

    refund_order(order_id=confirmed_order.pk, actor=staff, amount=Decimal("55.00"), reason="Scratched")

    [delivery] = _deliveries_since(deliveries_before)
    assert delivery.event == "order.refunded"
    assert delivery.payload["order"]["refunded_amount"] == "55.00"
    assert _new_calls(before) == [
        ("send_order_email", confirmed_order.pk, "refund_issued"),
        ("deliver_webhook", delivery.pk),
    ]


@pytest.mark.django_db
def test_completing_an_order_enqueues_the_order_completed_email_and_webhook(confirmed_order, staff, endpoint):
    before, deliveries_before = _task_ids(), set(WebhookDelivery.objects.values_list("pk", flat=True))

    complete_order(order_id=confirmed_order.pk, actor=staff)

    [delivery] = _deliveries_since(deliveries_before)
    assert delivery.event == "order.completed"
    assert _new_calls(before) == [
        ("send_order_email", confirmed_order.pk, "order_completed"),
        ("deliver_webhook", delivery.pk),
    ]


# --- Changes that roll back enqueue nothing ----------------------------------------------------------
# These roll back the service's transaction inside the test's, which undoes the rows written in it exactly as an
# outermost rollback does (test_worker.py rolls back a real outermost transaction and runs the worker after it).


@pytest.mark.django_db
@pytest.mark.parametrize("change", ["cancel", "complete", "refund"])
def test_an_order_change_whose_transaction_rolls_back_enqueues_nothing(laptop, mouse, staff, endpoint, change):
    order = paid_order({laptop: 1}) if change != "cancel" else place_order({laptop: 1})
    before = DBTaskResult.objects.count(), WebhookDelivery.objects.count(), order.version

    with pytest.raises(Boom), transaction.atomic():
        if change == "cancel":
            cancel_order(order_id=order.pk, actor=staff)
        elif change == "complete":
            complete_order(order_id=order.pk, actor=staff)
        else:
            # the gateway call happens, but its answer is recorded in the caller's (rolled back) transaction
            refund_order(order_id=order.pk, actor=staff, amount=Decimal("1.00"))
        raise Boom

    order.refresh_from_db()
    assert (DBTaskResult.objects.count(), WebhookDelivery.objects.count(), order.version) == before


@pytest.mark.django_db
def test_an_order_the_service_refuses_enqueues_nothing(laptop, endpoint):
    with pytest.raises(InsufficientStock):
        place_order({laptop: 11})

    assert DBTaskResult.objects.count() == 0
    assert WebhookDelivery.objects.count() == 0


@pytest.mark.django_db
def test_a_declined_payment_whose_recording_crashes_enqueues_no_payment_failed_email(
    order, system, endpoint, monkeypatch
):
    """The crash comes after the payment.failed event (and its tasks) were written, before the commit."""
    real_save = Payment.save

    def crashing_save(self, *args, **kwargs):
        if self.status == Payment.Status.FAILED:
            raise Boom
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(Payment, "save", crashing_save)
    before = queued_calls()

    with pytest.raises(Boom):
        process_payment(order_id=order.pk, actor=system, token="tok_decline")

    assert queued_calls() == before
    assert [call for call in queued_calls(SEND_EMAIL) if call[2] == "payment_failed"] == []
    assert not WebhookDelivery.objects.filter(event="order.payment_failed").exists()
