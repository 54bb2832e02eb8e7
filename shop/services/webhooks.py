"""Signed webhook deliveries: what a receiver gets, how it verifies it, and when a failed one is retried.

Each delivery is POSTed as JSON with these headers:

    X-Shop-Event: order.paid
    X-Shop-Delivery: <event id, a UUID; the same on every retry of this delivery>
    X-Shop-Signature: t=<unix timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>" keyed with the secret>

A receiver recomputes the HMAC over the timestamp, a dot and the raw body with the endpoint's secret, compares
it in constant time, and rejects a timestamp older than a few minutes (replays) and an event id it has
already processed (retries of a delivery it accepted).
"""

import hashlib
import hmac
import http.client
import json
import random
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from shop.models import WebhookDelivery

SIGNATURE_HEADER = "X-Shop-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, *, tolerance_seconds: int = 300, now: float | None = None) -> bool:
    """The receiver's side of `sign`: the documented recipe, usable by integrations written in Python."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance_seconds:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


def body_of(delivery: WebhookDelivery) -> bytes:
    envelope = {
        "id": str(delivery.event_id),
        "event": delivery.event,
        "created_at": delivery.created_at,
        "data": delivery.payload,
    }
    return json.dumps(envelope, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


def attempt_delivery(delivery_id: int) -> WebhookDelivery:
    """Send one pending delivery once; record the outcome and, on failure, when to try again (or give up).

    The row stays locked during the attempt (at most WEBHOOK_TIMEOUT_SECONDS), so two workers never send the
    same delivery at the same moment.
    """
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",)).select_related("endpoint").get(pk=delivery_id)
        )
        if delivery.status != WebhookDelivery.Status.PENDING:
            return delivery
        return _attempt(delivery)


def _attempt(delivery: WebhookDelivery) -> WebhookDelivery:
    body = body_of(delivery)
    code, error = _post_within_deadline(delivery, body)
    delivery.attempts += 1
    delivery.last_response_code = code
    delivery.last_error = error[:500]
    if code is not None and 200 <= code < 300:
        delivery.status, delivery.delivered_at, delivery.next_retry_at = (
            WebhookDelivery.Status.SUCCEEDED,
            timezone.now(),
            None,
        )
    elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        delivery.status, delivery.next_retry_at = WebhookDelivery.Status.FAILED, None
    else:
        delivery.next_retry_at = timezone.now() + retry_delay(delivery.attempts)
    delivery.save(
        update_fields=["attempts", "last_response_code", "last_error", "status", "delivered_at", "next_retry_at"]
    )
    return delivery


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with jitter: about base, 2 x base, 4 x base ... after the 1st, 2nd, 3rd failure."""
    base = settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempts - 1)
    return timedelta(seconds=base * random.uniform(1.0, 1.25))


def retry_by_hand(delivery_id: int) -> WebhookDelivery:
    """Staff send a failed delivery again: a fresh round of attempts for the same event id."""
    from shop.tasks import deliver_webhook

    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        if delivery.status != WebhookDelivery.Status.FAILED:
            return delivery  # still being retried, or delivered: one chain of attempts at a time
        delivery.status, delivery.attempts, delivery.next_retry_at = WebhookDelivery.Status.PENDING, 0, None
        delivery.save(update_fields=["status", "attempts", "next_retry_at"])
        deliver_webhook.enqueue(delivery.pk)
    return delivery


def _post_within_deadline(delivery: WebhookDelivery, body: bytes) -> tuple[int | None, str]:
    """`_post` with a deadline on the whole exchange: urllib's timeout only bounds each socket read, so a
    receiver dripping its answer byte by byte could hold the worker. Past the deadline the attempt counts as
    timed out and the worker moves on (the abandoned daemon thread ends with the connection)."""
    outcome: list[tuple[int | None, str]] = []
    sender = threading.Thread(target=lambda: outcome.append(_post(delivery, body)), daemon=True)
    sender.start()
    sender.join(settings.WEBHOOK_TIMEOUT_SECONDS)
    if not outcome:
        return None, f"No complete answer: timed out after {settings.WEBHOOK_TIMEOUT_SECONDS} s."
    return outcome[0]


def _post(delivery: WebhookDelivery, body: bytes) -> tuple[int | None, str]:
    request = urllib.request.Request(
        delivery.endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "shop-webhooks/1",
            "X-Shop-Event": delivery.event,
            "X-Shop-Delivery": str(delivery.event_id),
            SIGNATURE_HEADER: sign(delivery.endpoint.secret, int(time.time()), body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            return response.status, ""
    except urllib.error.HTTPError as error:
        return error.code, f"HTTP {error.code}"
    except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
        return None, str(getattr(error, "reason", error)) or type(error).__name__
