"""Webhook deliveries against a real HTTP receiver on 127.0.0.1: the documented signature, retries with growing
delays, a receiver that fails forever, one that never answers in time, and the back office's retry button."""

import hashlib
import hmac
import importlib
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from shop.models import WebhookDelivery, WebhookEndpoint
from shop.services.webhooks import attempt_delivery, retry_by_hand, retry_delay, sign, verify
from tests.background.conftest import (
    DELIVER_WEBHOOK,
    DRIBBLE,
    HANG,
    assert_no_failed_tasks,
    queued_calls,
    run_worker,
    run_worker_until,
)
from tests.factories import UserFactory, place_order


def _delivery_to(url: str, event: str = "order.paid") -> WebhookDelivery:
    endpoint = WebhookEndpoint.objects.create(url=url, events=[event])
    return WebhookDelivery.objects.create(endpoint=endpoint, event=event, payload={"order": {"number": "ORD-TEST"}})


def _enqueue(delivery: WebhookDelivery) -> None:
    from shop.tasks import deliver_webhook

    deliver_webhook.enqueue(delivery.pk)


def _settled(delivery: WebhookDelivery):
    return lambda: WebhookDelivery.objects.get(pk=delivery.pk).status != WebhookDelivery.Status.PENDING


# --- The signature ---------------------------------------------------------------------------------


def test_the_signature_is_the_documented_hmac_of_timestamp_dot_body_and_verify_checks_it():
    secret, body, now = "whsec_test", b'{"id":"abc","event":"order.paid"}', int(time.time())
    header = sign(secret, now, body)

    digest = hmac.new(b"whsec_test", f"{now}.".encode() + body, hashlib.sha256).hexdigest()
    assert header == f"t={now},v1={digest}"
    assert verify(secret, header, body)
    assert not verify("whsec_other", header, body)
    assert not verify(secret, header, body + b" ")
    assert not verify(secret, header.replace(f"t={now}", f"t={now + 1}"), body)
    assert not verify(secret, sign(secret, now - 600, body), body)  # a replay from ten minutes ago
    assert not verify(secret, "garbage", body)


# --- Retries -----------------------------------------------------------------------------------------


def test_retry_delay_doubles_after_each_failure_within_its_jitter(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    with mock.patch("shop.services.webhooks.random.uniform", side_effect=lambda low, high: low):
        lowest = [retry_delay(attempts).total_seconds() for attempts in range(1, 6)]
    with mock.patch("shop.services.webhooks.random.uniform", side_effect=lambda low, high: high):
        highest = [retry_delay(attempts).total_seconds() for attempts in range(1, 6)]
    sampled = [[retry_delay(attempts).total_seconds() for _ in range(50)] for attempts in range(1, 6)]

    assert lowest == [30, 60, 120, 240, 480]
    assert highest == [37.5, 75, 150, 300, 600]
    for attempts, samples in enumerate(sampled):
        assert all(lowest[attempts] <= sample <= highest[attempts] for sample in samples)
        assert len(set(samples)) > 1, "no jitter: every receiver would retry in lockstep"
    # even the shortest delay after a failure is longer than the longest one after the failure before
    assert all(lowest[i + 1] > highest[i] for i in range(4))


@pytest.mark.django_db(transaction=True)
def test_a_receiver_failing_twice_then_succeeding_gets_three_attempts_with_growing_delays(settings, receiver):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.3
    receiver.plan = [500, 503, 200]
    delivery = _delivery_to(receiver.url)
    _enqueue(delivery)

    run_worker_until(_settled(delivery), timeout=10)

    assert_no_failed_tasks()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_response_code) == ("SUCCEEDED", 3, 200)
    assert delivery.last_error == ""
    assert delivery.next_retry_at is None
    first, second, third = receiver.received
    first_gap, second_gap = second.at - first.at, third.at - second.at
    assert first_gap >= 0.3, f"retried after {first_gap:.2f} s, before the 0.3 s backoff"
    assert second_gap >= 0.6, f"retried after {second_gap:.2f} s, before the 0.6 s backoff"
    assert second_gap > first_gap
    # the same event, with the same id, on every attempt; each attempt signed afresh and valid
    assert {request.headers["X-Shop-Delivery"] for request in receiver.received} == {str(delivery.event_id)}
    assert {request.json["id"] for request in receiver.received} == {str(delivery.event_id)}
    assert all(verify(delivery.endpoint.secret, r.headers["X-Shop-Signature"], r.body) for r in receiver.received)
    # one task per attempt: the first enqueued the second, which enqueued the third
    assert list(
        DBTaskResult.objects.filter(task_path=DELIVER_WEBHOOK).order_by("enqueued_at").values_list("return_value")
    ) == [("PENDING",), ("PENDING",), ("SUCCEEDED",)]


@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_always_fails_gets_max_attempts_then_the_delivery_fails_until_retried_by_hand(
    settings, receiver
):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.05
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    receiver.plan = [500, 500, 500, 500, 500]
    delivery = _delivery_to(receiver.url)
    _enqueue(delivery)

    run_worker_until(_settled(delivery), timeout=10)
    time.sleep(0.3)
    run_worker()  # nothing is left to retry

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_response_code) == ("FAILED", 3, 500)
    assert delivery.last_error == "HTTP 500"
    assert delivery.next_retry_at is None
    assert len(receiver.received) == 3
    assert not DBTaskResult.objects.ready().exists()

    receiver.plan = []  # the receiver is fixed
    retried = retry_by_hand(delivery.pk)

    assert (retried.status, retried.attempts) == ("PENDING", 0)
    assert DBTaskResult.objects.ready().count() == 1
    run_worker()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_response_code) == ("SUCCEEDED", 1, 200)
    assert len(receiver.received) == 4
    assert receiver.received[-1].headers["X-Shop-Delivery"] == str(delivery.event_id)
    assert_no_failed_tasks()


# --- Receivers that do not answer ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_receiver_that_never_answers_is_given_up_on_after_the_timeout_and_retried_later(settings, receiver):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    receiver.plan = [HANG]
    delivery = _delivery_to(receiver.url)

    started = time.monotonic()
    attempted = attempt_delivery(delivery.pk)
    took = time.monotonic() - started

    assert took < 1.5, f"the attempt waited {took:.1f} s for a receiver that never answers"
    assert len(receiver.received) == 1
    assert attempted.status == WebhookDelivery.Status.PENDING
    assert (attempted.attempts, attempted.last_response_code) == (1, None)
    assert "timed out" in attempted.last_error
    assert attempted.next_retry_at > timezone.now() + timedelta(seconds=settings.WEBHOOK_RETRY_BASE_SECONDS * 0.9)


@pytest.mark.django_db
def test_a_receiver_that_answers_one_byte_at_a_time_is_given_up_on_after_the_timeout(settings, receiver):
    """Every byte arrives well within the timeout, so a per-read timeout never fires; the whole answer takes
    about 2.3 s. WEBHOOK_TIMEOUT_SECONDS is documented as the longest a delivery waits for an answer."""
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    receiver.plan = [DRIBBLE]
    delivery = _delivery_to(receiver.url)

    started = time.monotonic()
    attempted = attempt_delivery(delivery.pk)
    took = time.monotonic() - started

    assert took < 1.5, f"the attempt waited {took:.1f} s for a receiver that answers slowly"
    assert attempted.status == WebhookDelivery.Status.PENDING
    assert attempted.last_error


@pytest.mark.django_db
def test_a_receiver_that_refuses_connections_is_recorded_and_retried_later(settings, receiver):
    url = receiver.url
    receiver.close()  # nothing listens on that port any more
    delivery = _delivery_to(url)

    attempted = attempt_delivery(delivery.pk)

    assert (attempted.status, attempted.attempts, attempted.last_response_code) == ("PENDING", 1, None)
    assert "refused" in attempted.last_error.lower()
    assert attempted.next_retry_at > timezone.now()


@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_never_answers_does_not_hold_up_the_deliveries_queued_behind_it(
    settings, laptop, start_receiver
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    slow, fast = start_receiver(), start_receiver()
    slow.plan = [HANG]
    WebhookEndpoint.objects.create(url=slow.url, events=["order.created"])
    WebhookEndpoint.objects.create(url=fast.url, events=["order.created"])
    order = place_order({laptop: 1})
    stuck, behind = WebhookDelivery.objects.order_by("pk")
    assert queued_calls(DELIVER_WEBHOOK) == [("deliver_webhook", stuck.pk), ("deliver_webhook", behind.pk)]

    took = run_worker()

    assert took < 2.5, f"the worker took {took:.1f} s"
    assert_no_failed_tasks()
    behind.refresh_from_db()
    stuck.refresh_from_db()
    assert behind.status == WebhookDelivery.Status.SUCCEEDED
    assert [request.json["data"]["order"]["number"] for request in fast.received] == [order.number]
    assert fast.received[0].at - slow.received[0].at < 1.5
    assert (stuck.status, stuck.attempts) == ("PENDING", 1)
    assert "timed out" in stuck.last_error
    # its retry waits in the queue for its time (the 30 s backoff), not in the worker
    [retry] = DBTaskResult.objects.filter(task_path=DELIVER_WEBHOOK, status="READY")
    assert retry.args_kwargs["args"] == [stuck.pk]
    assert retry.run_after >= timezone.now() + timedelta(seconds=25)


# --- The back office's retry button -------------------------------------------------------------------


@pytest.fixture
def failed_delivery(db):
    delivery = _delivery_to("http://127.0.0.1:9/hooks")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.FAILED, attempts=6, last_response_code=500, last_error="HTTP 500"
    )
    return delivery


@pytest.mark.django_db
def test_a_superuser_retries_a_failed_delivery_from_the_back_office(client, failed_delivery):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get(reverse("backoffice:webhook", args=[failed_delivery.endpoint_id]))
    retry_url = reverse("backoffice:webhook-retry", args=[failed_delivery.pk])
    assert retry_url == f"/backoffice/webhooks/deliveries/{failed_delivery.pk}/retry/"
    assert f'action="{retry_url}"' in page.content.decode()

    response = client.post(retry_url)

    assert response.status_code == 302
    assert response["Location"] == reverse("backoffice:webhook", args=[failed_delivery.endpoint_id])
    failed_delivery.refresh_from_db()
    assert (failed_delivery.status, failed_delivery.attempts) == ("PENDING", 0)
    assert queued_calls(DELIVER_WEBHOOK) == [("deliver_webhook", failed_delivery.pk)]


def _support_group() -> Group:
    """The Support role of migration 0006 (a transactional test's flush empties the groups; make it again then)."""
    codenames = importlib.import_module("shop.migrations.0006_backoffice_roles_and_stock_adjustments").ROLES["Support"]
    group, created = Group.objects.get_or_create(name="Support")
    if created:
        group.permissions.add(*Permission.objects.filter(content_type__app_label="shop", codename__in=codenames))
    return group


@pytest.mark.django_db
def test_support_staff_may_not_retry_a_delivery(client, failed_delivery):
    user = UserFactory(is_staff=True)
    user.groups.add(_support_group())
    client.force_login(user)

    response = client.post(reverse("backoffice:webhook-retry", args=[failed_delivery.pk]))

    assert response.status_code == 403
    failed_delivery.refresh_from_db()
    assert (failed_delivery.status, failed_delivery.attempts) == ("FAILED", 6)
    assert queued_calls(DELIVER_WEBHOOK) == []


@pytest.mark.django_db
def test_retrying_a_still_pending_delivery_from_the_back_office_leaves_a_single_queued_attempt(client):
    delivery = _delivery_to("http://127.0.0.1:9/hooks")
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        attempts=2, last_error="HTTP 500", next_retry_at=timezone.now() + timedelta(minutes=2)
    )
    from shop.tasks import deliver_webhook

    deliver_webhook.using(run_after=timezone.now() + timedelta(minutes=2)).enqueue(delivery.pk)  # its scheduled retry
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    client.post(reverse("backoffice:webhook-retry", args=[delivery.pk]))

    queued = DBTaskResult.objects.filter(task_path=DELIVER_WEBHOOK, status="READY")
    assert queued.count() == 1, (
        f"{queued.count()} attempts queued for one delivery: two retry chains that each send it again "
        "(and, on two workers at once, send it twice at the same moment)"
    )
