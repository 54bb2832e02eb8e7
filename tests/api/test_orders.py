"""The order endpoints: every one, success and failure, as an integrator calls them."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shop.models import Order, OrderEvent, Payment, Product, SandboxTransaction
from tests.factories import ProductFactory, paid_order, place_order

pytestmark = pytest.mark.django_db

# The seed's curl examples, exactly as its README writes the request bodies.
SEED_ORDER = {
    "customer_email": "john@example.com",
    "customer_name": "John Doe",
    "customer_phone": "998901234567",
    "shipping_address": "123 Main St, Tashkent, Uzbekistan",
    "shipping_cost": "5.00",
    "payment_method": "CREDIT_CARD",
    "items": [
        {"product_name": "Laptop", "product_sku": "LAP-001", "quantity": 1, "unit_price": "1000.00"},
        {"product_name": "Mouse", "product_sku": "MOU-001", "quantity": 2, "unit_price": "25.00"},
    ],
}
SEED_PAYMENT = {"payment_gateway": "stripe"}
SEED_CANCEL = {"reason": "Customer requested cancellation"}
SEED_REFUND = {"reason": "Product defective", "amount": "525.00"}


def _post(client, url, body=None, **headers):
    return client.post(url, body or {}, format="json", headers=headers)


def _url(order, action=""):
    return f"/api/v1/orders/{order.pk}/" + (f"{action}/" if action else "")


def _error(response):
    return response.json()["error"]


def _snapshot(order):
    """Everything an action could change, to prove a refused one changed nothing."""
    order = Order.objects.get(pk=order.pk)
    return (
        order.status,
        order.version,
        order.refunded_amount,
        list(order.payments.values_list("status", "refunded_amount")),
        OrderEvent.objects.filter(order=order).count(),
        list(Product.objects.order_by("pk").values_list("stock", flat=True)),
        SandboxTransaction.objects.count(),
    )


# --- The seed's examples ----------------------------------------------------------------------


def test_the_seeds_guest_checkout_creates_the_order_with_its_token_version_and_location(anonymous, laptop, mouse):
    response = _post(anonymous, "/api/v1/orders/", SEED_ORDER)

    assert response.status_code == 201, response.json()
    body = response.json()
    order = Order.objects.get(pk=body["id"])
    assert (body["status"], body["subtotal"], body["shipping_cost"], body["total"]) == (
        "PENDING",
        "1050.00",
        "5.00",
        "1055.00",
    )
    assert [(i["product_sku"], i["quantity"], i["line_total"]) for i in body["items"]] == [
        ("LAP-001", 1, "1000.00"),
        ("MOU-001", 2, "50.00"),
    ]
    assert body["customer"]["email"] == "john@example.com"
    assert order.access_token_matches(body["access_token"])
    assert response["ETag"] == '"1"' and body["version"] == 1
    assert response["Location"].endswith(f"/api/v1/orders/{order.pk}/")
    assert Product.objects.get(sku="LAP-001").stock == laptop.stock - 1


def test_the_seeds_payment_refund_and_cancel_examples_work_in_turn_for_staff(anonymous, staff_api, laptop, mouse):
    order_id = _post(anonymous, "/api/v1/orders/", SEED_ORDER).json()["id"]

    paid = staff_api.post(f"/api/v1/orders/{order_id}/process-payment/", SEED_PAYMENT, format="json")
    assert paid.status_code == 200, paid.json()
    assert paid.json()["status"] == "CONFIRMED"
    assert paid.json()["payments"][0]["gateway"] == "stripe"

    refunded = staff_api.post(f"/api/v1/orders/{order_id}/refund/", SEED_REFUND, format="json")
    assert refunded.status_code == 200, refunded.json()
    assert (refunded.json()["status"], refunded.json()["refunded_amount"]) == ("CONFIRMED", "525.00")

    cancelled = staff_api.post(f"/api/v1/orders/{order_id}/cancel/", SEED_CANCEL, format="json")
    assert cancelled.status_code == 200, cancelled.json()
    assert (cancelled.json()["status"], cancelled.json()["refunded_amount"]) == ("CANCELLED", "1055.00")
    assert SandboxTransaction.objects.filter(kind="CHARGE").count() == 1


def test_the_seeds_cancel_example_cancels_an_unpaid_order_and_returns_its_stock(anonymous, staff_api, laptop, mouse):
    order_id = _post(anonymous, "/api/v1/orders/", SEED_ORDER).json()["id"]

    response = staff_api.post(f"/api/v1/orders/{order_id}/cancel/", SEED_CANCEL, format="json")

    assert response.status_code == 200 and response.json()["status"] == "CANCELLED"
    assert Product.objects.get(sku="LAP-001").stock == laptop.stock
    assert OrderEvent.objects.get(order_id=order_id, kind="order.cancelled").message == SEED_CANCEL["reason"]


# --- Creating orders --------------------------------------------------------------------------


def test_a_signed_in_customer_orders_as_themselves_without_contact_fields_or_token(customer_api, customer, laptop):
    body = {**SEED_ORDER, "items": [{"product_sku": "LAP-001", "quantity": 1}]}
    del body["customer_email"], body["customer_name"]

    response = _post(customer_api, "/api/v1/orders/", body)

    assert response.status_code == 201, response.json()
    assert response.json()["customer"]["id"] == customer.pk
    assert response.json()["access_token"] is None
    event = OrderEvent.objects.get(order_id=response.json()["id"], kind="order.created")
    assert event.actor_kind == "CUSTOMER"


def test_a_changed_price_is_refused_with_the_current_price_and_nothing_is_created(anonymous, laptop, mouse):
    body = {**SEED_ORDER, "items": [{**SEED_ORDER["items"][0], "unit_price": "900.00"}]}

    response = _post(anonymous, "/api/v1/orders/", body)

    assert response.status_code == 409
    error = _error(response)
    assert error["code"] == "price_changed"
    assert "1000.00" in str(error["details"])
    assert not Order.objects.exists()
    assert Product.objects.get(pk=laptop.pk).stock == laptop.stock


def test_a_shortage_is_refused_with_409_and_no_stock_moves(anonymous, laptop, mouse):
    body = {
        **SEED_ORDER,
        "items": [{"product_sku": "MOU-001", "quantity": 1}, {"product_sku": "LAP-001", "quantity": 11}],
    }

    response = _post(anonymous, "/api/v1/orders/", body)

    assert response.status_code == 409 and _error(response)["code"] == "insufficient_stock"
    assert Product.objects.get(pk=mouse.pk).stock == mouse.stock
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    "change, field",
    [
        ({"customer_email": "not-an-email"}, "customer_email"),
        ({"customer_name": ""}, "customer_name"),
        ({"payment_method": "GOLD_BARS"}, "payment_method"),
        ({"shipping_cost": "-1.00"}, "shipping_cost"),
        ({"shipping_cost": "1.234"}, "shipping_cost"),
        ({"shipping_address": ""}, "shipping_address"),
        ({"items": []}, "items"),
        ({"items": [{"product_sku": "LAP-001", "quantity": 0}]}, "items"),
        ({"items": [{"product_sku": "LAP-001", "quantity": "two"}]}, "items"),
        ({"items": [{"quantity": 1}]}, "items"),
        ({"items": "LAP-001"}, "items"),
    ],
)
def test_invalid_order_input_is_a_400_naming_the_field_and_creates_nothing(anonymous, laptop, mouse, change, field):
    response = _post(anonymous, "/api/v1/orders/", {**SEED_ORDER, **change})

    assert response.status_code == 400
    assert _error(response)["code"] == "invalid_input"
    assert field in _error(response)["details"]
    assert not Order.objects.exists()


def test_a_guest_order_without_contact_details_is_refused(anonymous, laptop):
    body = {key: value for key, value in SEED_ORDER.items() if not key.startswith("customer_")}

    response = _post(anonymous, "/api/v1/orders/", body)

    assert response.status_code == 400
    assert set(_error(response)["details"]) == {"customer_email", "customer_name"}


def test_an_unknown_sku_is_refused_and_creates_nothing(anonymous, laptop):
    body = {**SEED_ORDER, "items": [{"product_sku": "NOPE-1", "quantity": 1}]}

    response = _post(anonymous, "/api/v1/orders/", body)

    assert response.status_code == 409 and _error(response)["code"] == "product_unavailable"
    assert _error(response)["details"] == {"sku": "NOPE-1"}
    assert not Order.objects.exists()


def test_malformed_json_is_a_400_in_the_error_shape(anonymous):
    response = anonymous.post("/api/v1/orders/", "{not json", content_type="application/json")

    assert response.status_code == 400 and _error(response)["code"] == "malformed_request"


def test_a_form_encoded_body_is_refused_as_unsupported(anonymous):
    response = anonymous.post("/api/v1/orders/", {"customer_email": "a@b.c"})

    assert response.status_code == 415 and _error(response)["code"] == "unsupported_media_type"


# --- Paying -----------------------------------------------------------------------------------


def test_a_declined_card_is_a_402_with_the_reason_and_the_order_can_be_paid_again(guest_api, guest_order):
    declined = _post(guest_api, _url(guest_order, "process-payment"), {"payment_token": "tok_decline"})

    assert declined.status_code == 402
    error = _error(declined)
    assert error["code"] == "payment_declined" and error["details"]["decline_code"] == "card_declined"
    assert error["details"]["status"] == "FAILED"
    assert declined["ETag"] == f'"{error["details"]["version"]}"'

    paid = _post(guest_api, _url(guest_order, "process-payment"), {"payment_token": "tok_visa"})
    assert paid.status_code == 200 and paid.json()["status"] == "CONFIRMED"
    assert [p["status"] for p in paid.json()["payments"]] == ["FAILED", "COMPLETED"]


def test_a_lost_gateway_answer_is_202_with_the_payment_still_processing(guest_api, guest_order):
    response = _post(guest_api, _url(guest_order, "process-payment"), {"payment_token": "tok_timeout"})

    assert response.status_code == 202
    assert response.json()["status"] == "PROCESSING"
    assert response.json()["payments"][0]["status"] == "PROCESSING"


def test_an_unknown_gateway_is_a_400_listing_the_configured_ones(guest_api, guest_order):
    before = _snapshot(guest_order)

    response = _post(guest_api, _url(guest_order, "process-payment"), {"payment_gateway": "paypal-live"})

    assert response.status_code == 400
    assert _error(response)["code"] == "unknown_gateway"
    assert set(_error(response)["details"]["configured"]) == {"fake", "stripe"}
    assert _snapshot(guest_order) == before


def test_paying_a_paid_order_is_a_409_and_charges_nothing(staff_api, laptop):
    order = paid_order({laptop: 1})
    before = _snapshot(order)

    response = _post(staff_api, _url(order, "process-payment"))

    assert response.status_code == 409 and _error(response)["code"] == "invalid_transition"
    assert _snapshot(order) == before


# --- Versions: If-Match, the version field, ETag ----------------------------------------------


def test_a_stale_if_match_is_a_409_version_conflict_and_changes_nothing(staff_api, guest_order):
    before = _snapshot(guest_order)

    response = _post(staff_api, _url(guest_order, "cancel"), {"reason": "late"}, **{"If-Match": '"7"'})

    assert response.status_code == 409
    error = _error(response)
    assert error["code"] == "version_conflict"
    assert (error["details"]["expected_version"], error["details"]["current_version"]) == (7, 1)
    assert _snapshot(guest_order) == before


@pytest.mark.parametrize("if_match", ['"1"', 'W/"1"', "1"])
def test_the_current_version_in_if_match_lets_the_change_through_and_the_etag_moves_on(
    staff_api, guest_order, if_match
):
    response = _post(staff_api, _url(guest_order, "cancel"), {}, **{"If-Match": if_match})

    assert response.status_code == 200
    assert response["ETag"] == f'"{response.json()["version"]}"'
    assert response.json()["version"] > 1


def test_the_version_field_works_like_if_match(staff_api, guest_order):
    stale = _post(staff_api, _url(guest_order, "process-payment"), {"version": 5})
    current = _post(staff_api, _url(guest_order, "process-payment"), {"version": 1})

    assert stale.status_code == 409 and _error(stale)["code"] == "version_conflict"
    assert current.status_code == 200


@pytest.mark.parametrize("headers, body", [({"If-Match": '"abc"'}, {}), ({"If-Match": '"1"'}, {"version": 2})])
def test_an_unreadable_or_contradictory_version_is_a_400(staff_api, guest_order, headers, body):
    before = _snapshot(guest_order)

    response = _post(staff_api, _url(guest_order, "cancel"), body, **headers)

    assert response.status_code == 400 and _error(response)["code"] == "invalid_input"
    assert _snapshot(guest_order) == before


def test_reading_an_order_gives_its_etag_and_event_timeline(staff_api, confirmed_order):
    response = staff_api.get(_url(confirmed_order))

    assert response.status_code == 200
    assert response["ETag"] == f'"{confirmed_order.version}"'
    assert [event["kind"] for event in response.json()["events"]] == [
        "order.created",
        "payment.started",
        "payment.succeeded",
    ]


# --- Cancel, refund, complete -----------------------------------------------------------------


def test_cancelling_twice_is_a_409_the_second_time(guest_api, guest_order):
    assert _post(guest_api, _url(guest_order, "cancel"), SEED_CANCEL).status_code == 200

    again = _post(guest_api, _url(guest_order, "cancel"), SEED_CANCEL)

    assert again.status_code == 409 and _error(again)["code"] == "invalid_transition"


def test_a_refund_without_amount_refunds_the_rest_and_the_order_becomes_refunded(staff_api, confirmed_order):
    _post(staff_api, _url(confirmed_order, "refund"), {"amount": "55.00"})

    response = _post(staff_api, _url(confirmed_order, "refund"), {"reason": "all of it", "restock": True})

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["refunded_amount"]) == ("REFUNDED", "1055.00")
    assert [r["amount"] for r in body["payments"][0]["refunds"]] == ["55.00", "1000.00"]


def test_a_refund_above_what_remains_is_a_409_and_moves_no_money(staff_api, confirmed_order):
    before = _snapshot(confirmed_order)

    response = _post(staff_api, _url(confirmed_order, "refund"), {"amount": "1055.01"})

    assert response.status_code == 409 and _error(response)["code"] == "refund_not_allowed"
    assert _snapshot(confirmed_order) == before


@pytest.mark.parametrize("amount", ["0", "-5", "abc", "1.001"])
def test_a_refund_amount_that_is_not_money_is_a_400(staff_api, confirmed_order, amount):
    response = _post(staff_api, _url(confirmed_order, "refund"), {"amount": amount})

    assert response.status_code == 400 and "amount" in _error(response)["details"]


def test_refunding_an_unpaid_order_is_a_409(staff_api, guest_order):
    response = _post(staff_api, _url(guest_order, "refund"))

    assert response.status_code == 409 and _error(response)["code"] == "invalid_transition"


def test_a_refund_the_provider_refuses_is_a_502_and_the_order_keeps_its_money(staff_api, laptop):
    order = paid_order({laptop: 1}, token="tok_refund_decline")

    response = _post(staff_api, _url(order, "refund"), {"amount": "10.00"})

    assert response.status_code == 502 and _error(response)["code"] == "refund_failed"
    order.refresh_from_db()
    assert (order.status, order.refunded_amount) == ("CONFIRMED", Decimal("0.00"))


def test_completing_a_paid_order_fulfils_it_and_an_unpaid_one_is_refused(staff_api, confirmed_order, laptop):
    done = _post(staff_api, _url(confirmed_order, "complete"))
    unpaid = _post(staff_api, _url(place_order({laptop: 1}), "complete"))

    assert done.status_code == 200 and done.json()["status"] == "COMPLETED"
    assert unpaid.status_code == 409 and _error(unpaid)["code"] == "invalid_transition"


def test_a_missing_order_is_a_404_in_the_error_shape(staff_api):
    response = staff_api.get("/api/v1/orders/999999/")

    assert response.status_code == 404 and _error(response)["code"] == "not_found"


def test_orders_cannot_be_replaced_or_deleted_over_the_api(staff_api, guest_order):
    assert staff_api.put(_url(guest_order), {}, format="json").status_code == 405
    assert staff_api.delete(_url(guest_order)).status_code == 405
    assert Order.objects.filter(pk=guest_order.pk).exists()


# --- Listing ----------------------------------------------------------------------------------


def test_the_list_filters_by_status_and_searches_by_number_or_email(staff_api, laptop):
    paid = paid_order({laptop: 1}, email="ann@example.com")
    pending = place_order({laptop: 1}, email="bob@example.com")

    by_status = staff_api.get("/api/v1/orders/", {"status": "CONFIRMED"}).json()
    by_email = staff_api.get("/api/v1/orders/", {"search": "BOB@"}).json()
    by_number = staff_api.get("/api/v1/orders/", {"search": paid.number[-6:].lower()}).json()

    assert [o["id"] for o in by_status["results"]] == [paid.pk]
    assert [o["id"] for o in by_email["results"]] == [pending.pk]
    assert [o["id"] for o in by_number["results"]] == [paid.pk]


def test_an_unknown_status_filter_is_a_400(staff_api):
    response = staff_api.get("/api/v1/orders/", {"status": "SHIPPED"})

    assert response.status_code == 400 and "status" in _error(response)["details"]


def test_the_list_pages_20_at_a_time_newest_first(staff_api):
    product = ProductFactory(stock=1000)
    orders = [place_order({product: 1}) for _ in range(23)]

    first = staff_api.get("/api/v1/orders/").json()
    second = staff_api.get(first["next"]).json()

    assert first["count"] == 23 and len(first["results"]) == 20
    assert [o["id"] for o in first["results"] + second["results"]] == [o.pk for o in reversed(orders)]


def _list_queries(client, page_size):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/orders/", {"page_size": page_size})
    assert response.status_code == 200 and len(response.json()["results"]) == page_size
    return len(queries)


def test_listing_orders_runs_the_same_number_of_queries_for_any_page_size(staff_api):
    products = [ProductFactory(stock=1000) for _ in range(3)]
    for number in range(20):
        place_order(dict.fromkeys(products, 1))
        paid_order({products[0]: 1}, token="tok_visa" if number % 2 else "tok_decline")

    assert _list_queries(staff_api, 2) == _list_queries(staff_api, 40) == LIST_QUERIES


# auth user, count, orders, items, payments, refunds
LIST_QUERIES = 6


def test_a_customer_lists_only_their_own_orders(customer_api, customer, laptop):
    own = place_order({laptop: 1}, customer=customer)
    place_order({laptop: 1})

    response = customer_api.get("/api/v1/orders/")

    assert [o["id"] for o in response.json()["results"]] == [own.pk]


def test_a_payment_records_who_paid_in_the_audit_trail(guest_api, guest_order):
    _post(guest_api, _url(guest_order, "process-payment"))

    event = OrderEvent.objects.get(order=guest_order, kind="payment.started")
    assert (event.actor_kind, event.actor_label) == ("GUEST", guest_order.customer.email)
    assert Payment.objects.get(order=guest_order, status="COMPLETED")


# Placing the seed's order over the API: the guest lookup and insert, the product lock, one stock UPDATE, order,
# items, payment, event, its email task, the webhook endpoints lookup, then the order reloaded for the answer with
# its items, payments and refunds (and the test's savepoints around each transaction).
CREATE_QUERIES = 20
# Paying it: the access check, phase 1 (lock order and payments, mark them PROCESSING, event), the gateway's own
# ledger, phase 3 (lock again, confirm, event, webhook lookup), then the order reloaded for the answer.
PAY_QUERIES = 25


def test_an_order_placed_and_paid_over_the_api_runs_a_known_number_of_queries(anonymous, laptop, mouse):
    with CaptureQueriesContext(connection) as created:
        body = _post(anonymous, "/api/v1/orders/", SEED_ORDER).json()
    with CaptureQueriesContext(connection) as paid:
        response = _post(
            anonymous, f"/api/v1/orders/{body['id']}/process-payment/", **{"X-Order-Token": body["access_token"]}
        )

    assert response.status_code == 200
    assert (len(created), len(paid)) == (CREATE_QUERIES, PAY_QUERIES)
