"""Idempotency-Key on POST: a retry replays the first response and never does the work twice."""

from datetime import timedelta
from functools import partial

import pytest
from django.core.management import call_command
from django.utils import timezone

from shop.api.views import orders as order_views
from shop.models import IdempotencyKey, Order, Payment, SandboxTransaction
from tests.api.conftest import client_for
from tests.api.test_orders import SEED_ORDER
from tests.concurrency.race import race

pytestmark = pytest.mark.django_db


def _place(client, key, body=SEED_ORDER):
    return client.post("/api/v1/orders/", body, format="json", headers={"Idempotency-Key": key})


def _pay(client, order, key, token="tok_visa"):
    url = f"/api/v1/orders/{order.pk}/process-payment/"
    return client.post(url, {"payment_token": token}, format="json", headers={"Idempotency-Key": key})


def test_a_retried_order_replays_the_first_response_and_creates_nothing_new(anonymous, laptop, mouse):
    first = _place(anonymous, "order-1")
    retry = _place(anonymous, "order-1")

    assert first.status_code == retry.status_code == 201
    assert retry.content == first.content
    assert retry["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert (retry["ETag"], retry["Location"]) == (first["ETag"], first["Location"])
    assert Order.objects.count() == 1


def test_the_same_body_in_another_key_order_or_spacing_counts_as_the_same_request(anonymous, laptop, mouse):
    first = _place(anonymous, "order-1")
    reordered = dict(reversed(list(SEED_ORDER.items())))

    retry = _place(anonymous, "order-1", reordered)

    assert retry.status_code == 201 and retry.content == first.content
    assert Order.objects.count() == 1


def test_the_same_key_with_another_body_is_a_422_and_does_nothing(anonymous, laptop, mouse):
    _place(anonymous, "order-1")

    response = _place(anonymous, "order-1", {**SEED_ORDER, "shipping_cost": "9.00"})

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1


def test_the_same_key_on_another_endpoint_is_a_422(staff_api, guest_order):
    _pay(staff_api, guest_order, "k-1")

    response = staff_api.post(
        f"/api/v1/orders/{guest_order.pk}/cancel/",
        {"payment_token": "tok_visa"},
        format="json",
        headers={"Idempotency-Key": "k-1"},
    )

    assert response.status_code == 422
    guest_order.refresh_from_db()
    assert guest_order.status == "CONFIRMED"


def test_a_retried_payment_is_not_charged_again(staff_api, guest_order):
    first = _pay(staff_api, guest_order, "pay-1")
    retry = _pay(staff_api, guest_order, "pay-1")

    assert first.status_code == retry.status_code == 200 and retry.content == first.content
    assert SandboxTransaction.objects.filter(kind="CHARGE").count() == 1


def test_a_declined_payment_is_stored_so_its_retry_replays_the_decline_without_a_new_attempt(staff_api, guest_order):
    first = _pay(staff_api, guest_order, "pay-1", token="tok_decline")
    retry = _pay(staff_api, guest_order, "pay-1", token="tok_decline")

    assert first.status_code == retry.status_code == 402 and retry.content == first.content
    assert Payment.objects.filter(order=guest_order).count() == 1

    with_new_key = _pay(staff_api, guest_order, "pay-2", token="tok_visa")
    assert with_new_key.status_code == 200


def test_invalid_input_stores_nothing_so_the_corrected_request_can_use_the_same_key(anonymous, laptop, mouse):
    invalid = _place(anonymous, "order-1", {**SEED_ORDER, "payment_method": "GOLD"})
    corrected = _place(anonymous, "order-1")

    assert invalid.status_code == 400
    assert corrected.status_code == 201 and "Idempotent-Replayed" not in corrected
    assert Order.objects.count() == 1


def test_a_refused_change_frees_the_key_as_nothing_was_done(staff_api, guest_order):
    refused = staff_api.post(
        f"/api/v1/orders/{guest_order.pk}/complete/", {}, format="json", headers={"Idempotency-Key": "c-1"}
    )

    assert refused.status_code == 409
    assert not IdempotencyKey.objects.filter(key="c-1").exists()


def test_keys_are_scoped_to_the_caller_so_nobody_replays_another_callers_response(
    laptop, mouse, customer, other_customer
):
    body = {key: value for key, value in SEED_ORDER.items() if not key.startswith("customer_")}

    mine = _place(client_for(customer.user), "shared-key", body)
    theirs = _place(client_for(other_customer.user), "shared-key", body)

    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs
    assert mine.json()["id"] != theirs.json()["id"]
    assert theirs.json()["customer"]["id"] == other_customer.pk


@pytest.mark.parametrize("key", ["x" * 256, "", "tab\there"])
def test_a_key_that_is_too_long_empty_or_unprintable_is_a_400(anonymous, laptop, mouse, key):
    response = _place(anonymous, key)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"
    assert not Order.objects.exists()


def test_a_key_of_255_characters_is_accepted(anonymous, laptop, mouse):
    assert _place(anonymous, "k" * 255).status_code == 201


def test_an_unexpected_error_frees_the_key_for_a_retry(anonymous, laptop, mouse, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(order_views, "create_order", broken)
    anonymous.raise_request_exception = False
    failed = _place(anonymous, "order-1")
    assert failed.status_code == 500 and failed.json()["error"]["code"] == "server_error"
    monkeypatch.undo()

    assert _place(anonymous, "order-1").status_code == 201
    assert Order.objects.count() == 1


def test_a_request_without_a_key_is_not_deduplicated(anonymous, laptop, mouse):
    anonymous.post("/api/v1/orders/", SEED_ORDER, format="json")
    anonymous.post("/api/v1/orders/", SEED_ORDER, format="json")

    assert Order.objects.count() == 2
    assert not IdempotencyKey.objects.exists()


def test_keys_older_than_a_day_are_purged_and_younger_ones_kept(anonymous, laptop, mouse, capsys):
    _place(anonymous, "old")
    _place(anonymous, "new")
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=25))

    call_command("purge_idempotency_keys")

    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
    assert "Purged 1" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
@pytest.mark.concurrency
def test_two_simultaneous_requests_with_one_key_place_one_order(laptop, mouse):
    result = race(*[partial(_place, client_for(), "same-key") for _ in range(6)])

    assert not result.errors, result.errors
    statuses = sorted(response.status_code for response in result.values)
    assert Order.objects.count() == 1
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}
    created = [response for response in result.values if response.status_code == 201]
    assert all(response.content == created[0].content for response in created)
    in_use = [response for response in result.values if response.status_code == 409]
    assert all(response.json()["error"]["code"] == "idempotency_key_in_use" for response in in_use)


@pytest.mark.django_db(transaction=True)
@pytest.mark.concurrency
def test_simultaneous_payments_with_one_key_charge_once(staff_user, order, settings):
    settings.PAYMENT_GATEWAYS = {
        **settings.PAYMENT_GATEWAYS,
        "fake": {"BACKEND": "shop.gateways.fake.FakeGateway", "OPTIONS": {"latency_ms": 100}},
    }
    result = race(*[partial(_pay, client_for(staff_user), order, "pay-key") for _ in range(6)])

    assert not result.errors, result.errors
    assert SandboxTransaction.objects.filter(kind="CHARGE").count() == 1
    assert sorted({response.status_code for response in result.values}) in ([200], [200, 409])
    order.refresh_from_db()
    assert order.status == "CONFIRMED"


def test_a_key_freed_by_its_first_request_between_two_steps_of_a_retry_is_claimed_not_a_500(
    anonymous, laptop, mouse, monkeypatch
):
    """The retry's insert collides with the first request's row, which is deleted (nothing stored) before the
    retry reads it: the retry claims the key again instead of failing."""
    from django.db import IntegrityError

    from shop.api import idempotency

    real_create = idempotency.IdempotencyKey.objects.create
    collisions = []

    def collide_once(**fields):
        if not collisions:
            collisions.append(fields["key"])
            raise IntegrityError("duplicate key value violates unique constraint")
        return real_create(**fields)

    monkeypatch.setattr(idempotency.IdempotencyKey.objects, "create", collide_once)

    response = _place(anonymous, "freed-key")

    assert collisions == ["freed-key"]
    assert response.status_code == 201
    assert Order.objects.count() == 1
