"""The database worker, run in-process, turns the committed tasks into customer emails (Django's outbox) and
signed webhook deliveries to a real HTTP receiver on 127.0.0.1 — each exactly once."""

import hashlib
import hmac
import time
from collections.abc import Callable
from decimal import Decimal
from typing import NamedTuple
from unittest.mock import ANY

import pytest
from django.conf import settings
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from shop.models import Order, WebhookDelivery, WebhookEndpoint
from shop.services import cancel_order, complete_order, process_payment, refund_order
from shop.services.webhooks import verify
from tests.background.conftest import assert_no_failed_tasks, queued_calls, run_worker
from tests.factories import paid_order, place_order

pytestmark = pytest.mark.django_db(transaction=True)

GUEST = "guest@example.com"


def recipe_verifies(secret: str, header: str, body: bytes) -> bool:
    """The receiver's recipe as documented, written independently of the shop's code."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), f"{fields['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"]) and abs(time.time() - int(fields["t"])) < 60


def html_of(message) -> str:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return html


def test_the_worker_sends_the_order_placed_email_and_a_signed_order_created_webhook_once(
    laptop, mouse, mailoutbox, receiver
):
    endpoint = WebhookEndpoint.objects.create(url=receiver.url, events=["order.created"])
    order = place_order({laptop: 1, mouse: 2}, shipping_cost="5.00")
    assert mailoutbox == [] and receiver.received == []  # nothing is sent before the worker runs

    run_worker()

    assert_no_failed_tasks()
    [message] = mailoutbox
    assert message.subject == f"Your order {order.number} is placed"
    assert message.to == [GUEST]
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    assert "Hello Guest Buyer," in message.body
    assert "Thank you for your order." in message.body
    assert f"Order {order.number}" in message.body
    assert "2 x Mouse (MOU-001)  50.00" in message.body
    assert "Total 1055.00 USD" in message.body
    html = html_of(message)
    assert "<p>Thank you for your order.</p>" in html
    assert f"<h1>Order {order.number}</h1>" in html
    assert "<strong>1055.00 USD</strong>" in html

    [request] = receiver.received
    delivery = WebhookDelivery.objects.get()
    body = request.json
    assert request.path == "/hooks/shop"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Shop-Event"] == "order.created"
    assert request.headers["X-Shop-Delivery"] == body["id"] == str(delivery.event_id)
    assert body["event"] == "order.created"
    assert body["data"]["order"]["number"] == order.number
    assert body["data"]["order"]["total"] == "1055.00"
    signature = request.headers["X-Shop-Signature"]
    assert verify(endpoint.secret, signature, request.body)
    assert recipe_verifies(endpoint.secret, signature, request.body)
    assert not recipe_verifies("whsec_someone_else", signature, request.body)
    assert not verify(endpoint.secret, signature, request.body.replace(b"1055.00", b"1.00"))
    assert (delivery.status, delivery.attempts, delivery.last_response_code) == ("SUCCEEDED", 1, 200)
    assert delivery.delivered_at is not None
    assert sorted(DBTaskResult.objects.values_list("status", flat=True)) == ["SUCCESSFUL", "SUCCESSFUL"]

    run_worker()  # a second run finds nothing left to do

    assert len(mailoutbox) == 1
    assert len(receiver.received) == 1


def _declined(laptop, staff):
    order = place_order({laptop: 1})
    return order, lambda: process_payment(order_id=order.pk, actor=staff, token="tok_decline")


def _cancelled(laptop, staff):
    order = place_order({laptop: 1})
    return order, lambda: cancel_order(order_id=order.pk, actor=staff, reason="Changed my mind")


def _refunded(laptop, staff):
    order = paid_order({laptop: 2})
    return order, lambda: refund_order(order_id=order.pk, actor=staff, amount=Decimal("55.00"))


def _completed(laptop, staff):
    order = paid_order({laptop: 1})
    return order, lambda: complete_order(order_id=order.pk, actor=staff)


class Scenario(NamedTuple):
    set_up: Callable  # (laptop, staff) -> (order, the change to make)
    subject: str
    line: str  # a line of the email
    status: str  # the order's status the email shows
    event: str  # the webhook event


SCENARIOS = {
    "payment-declined": Scenario(
        _declined,
        "The payment for order {} failed",
        "The payment for your order failed.",
        "Failed",
        "order.payment_failed",
    ),
    "cancelled": Scenario(
        _cancelled, "Your order {} is cancelled", "Your order is cancelled.", "Cancelled", "order.cancelled"
    ),
    "refunded": Scenario(
        _refunded, "A refund for order {}", "We have refunded part or all of your order.", "Confirmed", "order.refunded"
    ),
    "completed": Scenario(
        _completed, "Your order {} is on its way", "Your order is on its way.", "Completed", "order.completed"
    ),
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_worker_sends_the_email_and_the_webhook_of_each_order_change(laptop, staff, mailoutbox, receiver, scenario):
    set_up, subject, line, status, event = SCENARIOS[scenario]
    endpoint = WebhookEndpoint.objects.create(url=receiver.url, events=[event])
    order, change = set_up(laptop, staff)
    run_worker()  # what placing (and paying) the order sent
    mailoutbox.clear()
    receiver.received.clear()

    change()
    run_worker()

    assert_no_failed_tasks()
    order.refresh_from_db()
    [message] = mailoutbox
    assert message.subject == subject.format(order.number)
    assert message.to == [GUEST]
    assert line in message.body
    assert f"Order {order.number} — status {status}" in message.body
    assert f"<p>{line}</p>" in html_of(message)
    assert f"<p>Status: {status}</p>" in html_of(message)
    if scenario == "refunded":
        assert "Refunded 55.00 USD" in message.body
        assert "<td>Refunded</td>" in html_of(message)
    [request] = receiver.received
    assert request.headers["X-Shop-Event"] == event
    assert request.json["data"]["order"]["status"] == order.status
    assert request.json["data"]["order"]["version"] == order.version
    assert verify(endpoint.secret, request.headers["X-Shop-Signature"], request.body)
    assert WebhookDelivery.objects.get(event=event).status == WebhookDelivery.Status.SUCCEEDED


def test_an_order_rolled_back_after_it_was_placed_enqueues_nothing_and_the_worker_sends_nothing(
    laptop, mailoutbox, receiver
):
    WebhookEndpoint.objects.create(url=receiver.url, events=["order.created"])

    with pytest.raises(RuntimeError), transaction.atomic():
        order = place_order({laptop: 1})
        assert queued_calls() == [("send_order_email", order.pk, "order_placed"), ("deliver_webhook", ANY)]
        raise RuntimeError("after the order, before the commit")
    run_worker()

    assert not Order.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert DBTaskResult.objects.count() == 0
    assert mailoutbox == []
    assert receiver.received == []
