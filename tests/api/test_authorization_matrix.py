"""Who may do what to an order over HTTP: every kind of caller against every order endpoint.

The access policy is the table `MATRIX` below, one row per (caller, order) and one column per endpoint;
every cell is a test case of its own:

- 200: the call succeeds and its effect is checked in the database (status, money, sandbox ledger, stock,
  audit event with the caller's actor kind), and no other order is touched;
- 401: no credentials; the answer is the same as for an order id that does not exist, nothing changes;
- 403: the caller may see the order but the action is staff-only; nothing changes;
- 404: the caller may not see the order; the answer is byte-for-byte the one for a missing order id (so
  it reveals nothing) and nothing changes: orders, payments, refunds, events, stock, gateway ledger.

Every order starts in a state where the action is legal, so a refusal is about the caller, not the order.
"""

import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import jwt
import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from shop.models import Order, OrderEvent, Payment, Product, Refund, SandboxTransaction
from shop.models.events import ActorKind
from shop.models.orders import OrderStatus
from tests.api import errors
from tests.api.conftest import client_for
from tests.factories import paid_order, place_order

pytestmark = pytest.mark.django_db

ORDERS_URL = "/api/v1/orders/"

# Each endpoint: HTTP method, path after /orders/{id}/, JSON body, and the state the order is put in first
# (one in which the action is allowed, so only the caller decides the outcome).
REQUESTS = {
    "retrieve": ("get", "", None, "pending"),
    "pay": ("post", "process-payment/", {"payment_token": "tok_visa"}, "pending"),
    "cancel": ("post", "cancel/", {"reason": "Changed my mind"}, "pending"),
    "cancel_paid": ("post", "cancel/", {"reason": "Changed my mind"}, "paid"),
    "refund": ("post", "refund/", {"reason": "Arrived broken"}, "paid"),
    "complete": ("post", "complete/", {}, "paid"),
}
ENDPOINTS = tuple(REQUESTS)

# Callers: anonymous has no credentials; guest holds the guest order's token; wrong_token an unknown token;
# other_guest the token of another guest's (real) order; owner is the JWT of the customer who placed
# customer_order; other_customer another customer's JWT; staff a staff JWT.
# fmt: off
MATRIX = {
    #                                     retrieve pay  cancel cancel_paid refund complete
    ("anonymous", "customer_order"):      (401,     401, 401,   401,        401,   401),
    ("anonymous", "guest_order"):         (401,     401, 401,   401,        401,   401),
    ("owner", "customer_order"):          (200,     200, 200,   200,        403,   403),
    ("guest", "guest_order"):             (200,     200, 200,   200,        403,   403),
    ("staff", "customer_order"):          (200,     200, 200,   200,        200,   200),
    ("staff", "guest_order"):             (200,     200, 200,   200,        200,   200),
    ("owner", "guest_order"):             (404,     404, 404,   404,        404,   404),
    ("other_customer", "customer_order"): (404,     404, 404,   404,        404,   404),
    ("other_customer", "guest_order"):    (404,     404, 404,   404,        404,   404),
    ("wrong_token", "customer_order"):    (404,     404, 404,   404,        404,   404),
    ("wrong_token", "guest_order"):       (404,     404, 404,   404,        404,   404),
    ("other_guest", "customer_order"):    (404,     404, 404,   404,        404,   404),
    ("other_guest", "guest_order"):       (404,     404, 404,   404,        404,   404),
}
# fmt: on

ACTOR_KIND = {"owner": ActorKind.CUSTOMER, "guest": ActorKind.GUEST, "staff": ActorKind.STAFF}

ERROR_CODES = {401: "not_authenticated", 403: "permission_denied", 404: "not_found"}

# place_order({laptop: 1, mouse: 2}): what a cancel with restock puts back on the shelf.
ORDER_QUANTITIES = {"LAP-001": 1, "MOU-001": 2}


def _cells(status: int) -> list:
    return [
        pytest.param(caller, target, endpoint, id=f"{caller}-on-{target}-{endpoint}")
        for (caller, target), row in MATRIX.items()
        for endpoint, expected in zip(ENDPOINTS, row, strict=True)
        if expected == status
    ]


@dataclass
class World:
    orders: dict[str, Order]
    clients: dict[str, APIClient]


@pytest.fixture
def make_world(customer, other_customer, staff_user, laptop, mouse):
    """The customer's order and a guest's order, both `pending` or `paid`, another guest's pending order,
    and a client for every kind of caller."""

    def make(state: str) -> World:
        build = paid_order if state == "paid" else place_order
        orders = {
            "customer_order": build({laptop: 1, mouse: 2}, shipping_cost="5.00", customer=customer),
            "guest_order": build({laptop: 1, mouse: 2}, shipping_cost="5.00", email="guest@example.com"),
        }
        stranger_order = place_order({mouse: 1}, email="stranger@example.com")
        clients = {
            "anonymous": APIClient(),
            "guest": client_for(order_token=orders["guest_order"].access_token),
            "wrong_token": client_for(order_token=secrets.token_urlsafe(32)),
            "other_guest": client_for(order_token=stranger_order.access_token),
            "owner": client_for(customer.user),
            "other_customer": client_for(other_customer.user),
            "staff": client_for(staff_user),
        }
        return World(orders=orders, clients=clients)

    return make


def send(client: APIClient, endpoint: str, order_id: int):
    method, suffix, body, _ = REQUESTS[endpoint]
    url = f"{ORDERS_URL}{order_id}/{suffix}"
    if method == "get":
        return client.get(url)
    return client.post(url, body, format="json")


def missing_order_id() -> int:
    return (Order.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 10_000


def order_state(order_id: int) -> dict:
    order = Order.objects.get(pk=order_id)
    return {
        "status": order.status,
        "version": order.version,
        "refunded_amount": order.refunded_amount,
        "updated_at": order.updated_at,
        "payments": list(
            Payment.objects.filter(order_id=order_id)
            .order_by("pk")
            .values("pk", "status", "method", "refunded_amount", "gateway_transaction_id", "updated_at")
        ),
        "refunds": list(
            Refund.objects.filter(payment__order_id=order_id).order_by("pk").values("pk", "status", "amount")
        ),
        "events": OrderEvent.objects.filter(order_id=order_id).count(),
    }


def shop_state() -> dict:
    """Everything an order action could change."""
    return {
        "orders": {pk: order_state(pk) for pk in Order.objects.order_by("pk").values_list("pk", flat=True)},
        "stock": dict(Product.objects.values_list("sku", "stock")),
        "sandbox": list(
            SandboxTransaction.objects.order_by("pk").values(
                "pk", "kind", "amount", "succeeded", "reference", "charge_reference"
            )
        ),
    }


def new_sandbox_entries(before: dict, after: dict) -> list[dict]:
    seen = {entry["pk"] for entry in before["sandbox"]}
    return [entry for entry in after["sandbox"] if entry["pk"] not in seen]


def assert_error(response, status: int, code: str) -> dict:
    """The one error shape with the expected status and code, a message that is not blank, and for a 401 the header
    that says how to authenticate; returns the whole body."""
    error = errors.assert_error(response, status, code)
    assert error["message"].strip(), error
    if status == 401:
        assert response.has_header("WWW-Authenticate"), "a 401 must say how to authenticate"
    return response.json()


def event_actor(order: Order, kind: str) -> str:
    return OrderEvent.objects.get(order=order, kind=kind).actor_kind


# --- Effects of permitted calls ---------------------------------------------------------------------------


def check_retrieve(order, response, before, after, actor_kind):
    body = response.json()
    assert (body["id"], body["number"], body["status"]) == (order.pk, order.number, OrderStatus.PENDING)
    assert len(body["events"]) == before["orders"][order.pk]["events"] > 0
    assert response["ETag"] == f'"{before["orders"][order.pk]["version"]}"'
    assert after == before, "reading an order changes nothing"


def check_pay(order, response, before, after, actor_kind):
    state = after["orders"][order.pk]
    assert response.json()["status"] == state["status"] == OrderStatus.CONFIRMED
    completed = [p for p in state["payments"] if p["status"] == Payment.Status.COMPLETED]
    assert len(completed) == 1, state["payments"]
    charges = new_sandbox_entries(before, after)
    assert len(charges) == 1, "exactly one charge at the gateway"
    assert charges[0]["kind"] == SandboxTransaction.Kind.CHARGE
    assert charges[0]["succeeded"] is True
    assert charges[0]["amount"] == order.total
    assert charges[0]["reference"] == completed[0]["gateway_transaction_id"]
    assert after["stock"] == before["stock"]
    assert event_actor(order, "payment.succeeded") == actor_kind


def check_cancel(order, response, before, after, actor_kind):
    state = after["orders"][order.pk]
    assert response.json()["status"] == state["status"] == OrderStatus.CANCELLED
    assert state["refunded_amount"] == Decimal("0.00")
    assert new_sandbox_entries(before, after) == [], "an unpaid order is cancelled without the gateway"
    assert after["stock"] == {sku: stock + ORDER_QUANTITIES.get(sku, 0) for sku, stock in before["stock"].items()}
    assert event_actor(order, "order.cancelled") == actor_kind


def check_cancel_paid(order, response, before, after, actor_kind):
    state = after["orders"][order.pk]
    body = response.json()
    assert body["status"] == state["status"] == OrderStatus.CANCELLED
    assert Decimal(body["refunded_amount"]) == state["refunded_amount"] == order.total
    refunds = new_sandbox_entries(before, after)
    assert len(refunds) == 1, "the paid order is refunded in full, once"
    assert refunds[0]["kind"] == SandboxTransaction.Kind.REFUND
    assert refunds[0]["succeeded"] is True
    assert refunds[0]["amount"] == order.total
    assert refunds[0]["charge_reference"] == state["payments"][0]["gateway_transaction_id"]
    assert after["stock"] == {sku: stock + ORDER_QUANTITIES.get(sku, 0) for sku, stock in before["stock"].items()}
    assert event_actor(order, "order.cancelled") == actor_kind


def check_refund(order, response, before, after, actor_kind):
    state = after["orders"][order.pk]
    body = response.json()
    assert body["status"] == state["status"] == OrderStatus.REFUNDED
    assert Decimal(body["refunded_amount"]) == state["refunded_amount"] == order.total
    assert [p["status"] for p in state["payments"]] == [Payment.Status.REFUNDED]
    refunds = new_sandbox_entries(before, after)
    assert len(refunds) == 1
    assert refunds[0]["kind"] == SandboxTransaction.Kind.REFUND
    assert refunds[0]["succeeded"] is True
    assert refunds[0]["amount"] == order.total
    assert after["stock"] == before["stock"], "no restock unless asked"
    assert event_actor(order, "refund.succeeded") == actor_kind


def check_complete(order, response, before, after, actor_kind):
    state = after["orders"][order.pk]
    assert response.json()["status"] == state["status"] == OrderStatus.COMPLETED
    assert state["version"] == before["orders"][order.pk]["version"] + 1
    assert new_sandbox_entries(before, after) == []
    assert after["stock"] == before["stock"]
    assert event_actor(order, "order.completed") == actor_kind


EFFECTS = {
    "retrieve": check_retrieve,
    "pay": check_pay,
    "cancel": check_cancel,
    "cancel_paid": check_cancel_paid,
    "refund": check_refund,
    "complete": check_complete,
}


# --- The matrix -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("caller", "target", "endpoint"), _cells(200))
def test_permitted_caller_succeeds_and_the_action_takes_effect_on_that_order_only(make_world, caller, target, endpoint):
    world = make_world(REQUESTS[endpoint][3])
    order = world.orders[target]
    before = shop_state()

    response = send(world.clients[caller], endpoint, order.pk)

    assert response.status_code == 200, response.content
    after = shop_state()
    assert response["ETag"] == f'"{after["orders"][order.pk]["version"]}"'
    EFFECTS[endpoint](order, response, before, after, ACTOR_KIND[caller])
    others = {pk: state for pk, state in after["orders"].items() if pk != order.pk}
    assert others == {pk: state for pk, state in before["orders"].items() if pk != order.pk}


@pytest.mark.parametrize(("caller", "target", "endpoint"), _cells(403))
def test_owner_or_token_guest_is_refused_staff_only_action_with_403_and_nothing_changes(
    make_world, caller, target, endpoint
):
    world = make_world(REQUESTS[endpoint][3])
    before = shop_state()

    response = send(world.clients[caller], endpoint, world.orders[target].pk)

    assert_error(response, 403, ERROR_CODES[403])
    assert shop_state() == before


@pytest.mark.parametrize(("caller", "target", "endpoint"), _cells(401))
def test_caller_without_credentials_gets_401_same_as_for_a_missing_order_and_nothing_changes(
    make_world, caller, target, endpoint
):
    world = make_world(REQUESTS[endpoint][3])
    client = world.clients[caller]
    before = shop_state()

    response = send(client, endpoint, world.orders[target].pk)

    body = assert_error(response, 401, ERROR_CODES[401])
    assert not response.has_header("ETag")
    assert shop_state() == before
    missing = send(client, endpoint, missing_order_id())
    assert (missing.status_code, missing.json()) == (401, body)


@pytest.mark.parametrize(("caller", "target", "endpoint"), _cells(404))
def test_caller_who_may_not_see_the_order_gets_the_missing_order_404_and_nothing_changes(
    make_world, caller, target, endpoint
):
    world = make_world(REQUESTS[endpoint][3])
    client = world.clients[caller]
    before = shop_state()

    response = send(client, endpoint, world.orders[target].pk)

    body = assert_error(response, 404, ERROR_CODES[404])
    assert not response.has_header("ETag"), "the order's version must not leak"
    assert shop_state() == before
    missing = send(client, endpoint, missing_order_id())
    assert missing.status_code == 404
    assert missing.json() == body, "a hidden order must be indistinguishable from a missing one"
    assert missing.content == response.content


# --- Listing orders ---------------------------------------------------------------------------------------


@pytest.fixture
def listed(customer, other_customer, staff_user, laptop, mouse):
    """Two orders of the customer (one paid), one of another customer, one of a guest; a client per caller."""
    orders = {
        "owner_pending": place_order({mouse: 1}, customer=customer),
        "owner_paid": paid_order({laptop: 1}, customer=customer),
        "other_customer": place_order({mouse: 1}, customer=other_customer),
        "guest": place_order({mouse: 1}, email="guest@example.com"),
    }
    clients = {
        "anonymous": APIClient(),
        "guest": client_for(order_token=orders["guest"].access_token),
        "wrong_token": client_for(order_token=secrets.token_urlsafe(32)),
        "owner": client_for(customer.user),
        "other_customer": client_for(other_customer.user),
        "staff": client_for(staff_user),
    }
    return World(orders=orders, clients=clients)


@pytest.mark.parametrize(
    ("caller", "visible"),
    [
        pytest.param("owner", {"owner_pending", "owner_paid"}, id="owner-sees-own-orders-only"),
        pytest.param("other_customer", {"other_customer"}, id="other-customer-sees-own-order-only"),
        pytest.param("staff", {"owner_pending", "owner_paid", "other_customer", "guest"}, id="staff-sees-all"),
    ],
)
def test_order_list_shows_a_signed_in_caller_exactly_the_orders_they_may_see(listed, caller, visible):
    response = listed.clients[caller].get(ORDERS_URL)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == len(visible)
    assert {row["id"] for row in body["results"]} == {listed.orders[name].pk for name in visible}


@pytest.mark.parametrize("caller", ["anonymous", "guest", "wrong_token"])
def test_order_list_refuses_a_caller_without_a_user_with_401(listed, caller):
    response = listed.clients[caller].get(ORDERS_URL)

    assert_error(response, 401, "not_authenticated")


@pytest.mark.parametrize("found_by", ["number", "email"])
def test_order_search_finds_other_peoples_orders_for_staff_but_never_for_a_customer(listed, found_by):
    target = listed.orders["other_customer"]
    text = target.number if found_by == "number" else target.customer.email

    as_staff = listed.clients["staff"].get(ORDERS_URL, {"search": text})
    as_customer = listed.clients["owner"].get(ORDERS_URL, {"search": text})

    assert [row["id"] for row in as_staff.json()["results"]] == [target.pk]
    assert as_customer.status_code == 200
    assert as_customer.json()["count"] == 0


# --- Broken credentials -----------------------------------------------------------------------------------


def bad_authorization(kind: str, user) -> str:
    """An Authorization header for `user` that must not authenticate anyone."""
    if kind == "garbage":
        return "Bearer not.a.jwt"
    if kind == "missing_token":
        return "Bearer"
    if kind == "expired":
        token = AccessToken.for_user(user)
        token.set_exp(from_time=timezone.now() - timedelta(hours=2), lifetime=timedelta(minutes=15))
        return f"Bearer {token}"
    if kind == "wrong_signature":
        payload = dict(AccessToken.for_user(user).payload)
        return "Bearer " + jwt.encode(payload, "not-the-signing-key-" + "x" * 48, algorithm="HS256")
    if kind == "refresh_token_as_access":
        return f"Bearer {RefreshToken.for_user(user)}"
    if kind == "inactive_user":
        header = f"Bearer {AccessToken.for_user(user)}"
        user.is_active = False
        user.save(update_fields=["is_active"])
        return header
    if kind == "deleted_user":
        header = f"Bearer {AccessToken.for_user(user)}"
        user.delete()
        return header
    raise AssertionError(kind)


BAD_JWTS = ["garbage", "missing_token", "expired", "wrong_signature", "refresh_token_as_access", "inactive_user"]


@pytest.mark.parametrize("endpoint", ["list", "retrieve", "pay"])
@pytest.mark.parametrize("kind", [*BAD_JWTS, "deleted_user"])
def test_invalid_or_expired_jwt_of_the_owner_gets_401_in_the_error_shape_and_nothing_changes(
    customer, laptop, mouse, kind, endpoint
):
    order = place_order({laptop: 1, mouse: 2}, shipping_cost="5.00", customer=customer)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=bad_authorization(kind, customer.user))
    before = shop_state()

    response = client.get(ORDERS_URL) if endpoint == "list" else send(client, endpoint, order.pk)

    assert_error(response, 401, "not_authenticated")
    assert shop_state() == before


@pytest.mark.parametrize("kind", BAD_JWTS)
def test_invalid_jwt_is_refused_with_401_even_alongside_the_right_order_token(guest_order, customer, kind):
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=bad_authorization(kind, customer.user), HTTP_X_ORDER_TOKEN=guest_order.access_token
    )
    before = shop_state()

    response = send(client, "pay", guest_order.pk)

    assert_error(response, 401, "not_authenticated")
    assert shop_state() == before
