"""The order page and its actions: take payment, cancel, complete, refund, each posted with the version the page
showed, so a page that went stale in the meantime cannot act."""

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from shop.models import Order, OrderEvent, Payment, Product, Refund
from shop.services import Actor, cancel_order, complete_order, process_payment, refund_order
from tests.backoffice.helpers import alerts, everything, form_values, page
from tests.factories import paid_order, place_order

pytestmark = pytest.mark.django_db

CONFLICT = "was changed by someone else while you were looking at it; nothing was done."


def order_url(order) -> str:
    return reverse("backoffice:order", args=[order.number])


def action_url(order, action: str) -> str:
    return reverse(f"backoffice:order-{action}", args=[order.number])


def open_order(client, order):
    response = client.get(order_url(order))
    assert response.status_code == 200
    return response


def act(client, order, action: str, **data):
    """Post an action; follow the redirect back to the order page (which shows the messages)."""
    response = client.post(action_url(order, action), data, follow=True)
    assert response.redirect_chain == [(order_url(order), 302)]
    assert response.status_code == 200
    return response


def offered(response) -> set[str]:
    """The actions the order page offers a form for."""
    return {
        form.attrs["action"].rstrip("/").rsplit("/", 1)[-1]
        for form in page(response).find_all("form", method="post")
        if form.attrs.get("action", "").startswith("/backoffice/orders/")
    }


def status_shown(response) -> str:
    return page(response).by_testid("order-status").text


def version_shown(response) -> int:
    """The version in the line under the heading: "Status X · version N · placed ..."."""
    line = page(response).by_testid("order-status").parent.text
    return int(re.search(r"version (\d+)", line).group(1))


def timeline(response) -> list[str]:
    return [item.text for item in page(response).by_testid("timeline").find_all("li")]


def fresh(order) -> Order:
    return Order.objects.get(pk=order.pk)


# --- The page ---------------------------------------------------------------------------------


def test_the_order_page_shows_customer_items_totals_payments_and_timeline(support_client, confirmed_order):
    response = open_order(support_client, confirmed_order)
    html = page(response)

    assert html.one("h1").text == f"Order {confirmed_order.number}"
    assert status_shown(response) == "CONFIRMED"
    assert "guest@example.com" in html.one("section", aria_labelledby="customer-heading").text
    items = html.one("section", aria_labelledby="items-heading")
    rows = [[cell.text for cell in row.find_all("td")] for row in items.one("tbody").find_all("tr")]
    assert rows == [
        ["LAP-001", "Laptop", "1 \u00d7 1000.00", "1000.00"],
        ["MOU-001", "Mouse", "2 \u00d7 25.00", "50.00"],
    ]
    assert "1055.00 USD" in items.one("tfoot").text
    payments = html.one("section", aria_labelledby="payments-heading").text
    assert "COMPLETED" in payments and "1055.00" in payments
    kinds = [item.one("code").text for item in html.by_testid("timeline").find_all("li")]
    assert kinds == ["order.created", "payment.started", "payment.succeeded"]


def test_every_action_form_carries_the_version_the_page_shows(super_client, confirmed_order):
    response = open_order(super_client, confirmed_order)

    assert version_shown(response) == confirmed_order.version
    for action in ("refund", "complete", "cancel"):
        assert form_values(response, action_url(confirmed_order, action))["version"] == str(confirmed_order.version)


def test_an_unknown_order_is_not_found(super_client, db):
    assert super_client.get(reverse("backoffice:order", args=["ORD-NOPE"])).status_code == 404
    for action in ("pay", "cancel", "complete", "refund"):
        response = super_client.post(reverse(f"backoffice:order-{action}", args=["ORD-NOPE"]), {"version": 1})
        assert response.status_code == 404


# --- Which actions are offered ----------------------------------------------------------------


def _order_in(status: str, laptop, mouse) -> Order:
    system = Actor.system("tests")
    if status == "PENDING":
        return place_order({laptop: 1, mouse: 2}, shipping_cost="5.00")
    if status == "FAILED":
        return paid_order({laptop: 1, mouse: 2}, token="tok_decline")
    if status == "PROCESSING":
        return paid_order({laptop: 1, mouse: 2}, token="tok_timeout")
    order = paid_order({laptop: 1, mouse: 2}, shipping_cost="5.00")
    if status == "PARTIALLY_REFUNDED":
        refund_order(order_id=order.pk, actor=system, amount="55.00")
    elif status == "COMPLETED":
        complete_order(order_id=order.pk, actor=system)
    elif status == "CANCELLED":
        cancel_order(order_id=order.pk, actor=system)
    elif status == "REFUNDED":
        refund_order(order_id=order.pk, actor=system)
    return fresh(order)


@pytest.mark.parametrize(
    ("status", "actions"),
    [
        ("PENDING", {"pay", "cancel"}),
        ("FAILED", {"pay", "cancel"}),
        ("PROCESSING", set()),
        ("CONFIRMED", {"refund", "complete", "cancel"}),
        ("PARTIALLY_REFUNDED", {"refund", "complete", "cancel"}),
        ("COMPLETED", {"refund"}),
        ("CANCELLED", set()),
        ("REFUNDED", set()),
    ],
)
def test_the_page_offers_only_the_actions_the_state_machine_allows(super_client, laptop, mouse, status, actions):
    order = _order_in(status, laptop, mouse)

    response = open_order(super_client, order)

    assert offered(response) == actions
    nothing_open = "No action is open to you on this order in its current status."
    assert (nothing_open in response.content.decode()) == (not actions)


def test_a_partially_refunded_order_offers_to_refund_only_what_remains(finance_client, laptop, mouse):
    order = _order_in("PARTIALLY_REFUNDED", laptop, mouse)

    response = open_order(finance_client, order)

    assert "Up to 1000.00 can still be refunded." in page(response).by_testid("refund-action").text
    assert form_values(response, action_url(order, "refund"))["amount"] == "1000.00"


def test_the_cancel_form_of_a_paid_order_says_that_it_refunds(super_client, confirmed_order):
    response = open_order(super_client, confirmed_order)

    assert "The order is paid: cancelling refunds 1055.00 and puts the stock back." in response.content.decode()


# --- Take payment -----------------------------------------------------------------------------


def test_taking_payment_with_a_good_card_confirms_the_order(support_client, order, support_user):
    version = form_values(open_order(support_client, order), action_url(order, "pay"))["version"]

    response = act(support_client, order, "pay", version=version, card="tok_visa")

    assert alerts(response) == [("success", f"Payment taken for order {order.number}.")]
    assert fresh(order).status == Order.Status.CONFIRMED
    assert status_shown(response) == "CONFIRMED"
    assert "pay" not in offered(response)
    payment = order.payments.get()
    assert payment.status == Payment.Status.COMPLETED
    started = order.events.get(kind="payment.started")
    assert (started.actor_kind, started.actor_user) == ("STAFF", support_user)


def test_a_declined_card_shows_the_reason_and_leaves_the_order_payable(support_client, order):
    response = act(support_client, order, "pay", version=order.version, card="tok_decline")

    assert alerts(response) == [("danger", "The payment was declined: Your card was declined.")]
    assert fresh(order).status == Order.Status.FAILED
    assert status_shown(response) == "FAILED"
    assert "Your card was declined." in page(response).one("section", aria_labelledby="payments-heading").text
    assert "pay" in offered(response)


def test_a_payment_retried_after_a_decline_confirms_the_order_as_a_second_attempt(support_client, order):
    act(support_client, order, "pay", version=order.version, card="tok_decline")

    response = act(support_client, order, "pay", version=fresh(order).version, card="tok_visa")

    assert alerts(response) == [("success", f"Payment taken for order {order.number}.")]
    assert fresh(order).status == Order.Status.CONFIRMED
    assert list(order.payments.order_by("pk").values_list("status", flat=True)) == ["FAILED", "COMPLETED"]


def test_a_payment_whose_answer_is_lost_is_not_reported_as_taken(support_client, order):
    response = act(support_client, order, "pay", version=order.version, card="tok_timeout")

    assert fresh(order).status == Order.Status.PROCESSING
    shown = alerts(response)
    assert shown, "the page should say what became of the payment"
    assert all(level != "success" for level, _text in shown), shown
    assert all("Payment taken" not in text for _level, text in shown), shown


def test_paying_an_order_that_is_already_paid_is_refused_and_charges_nothing(super_client, confirmed_order):
    before = everything()

    response = act(super_client, confirmed_order, "pay", version=confirmed_order.version, card="tok_visa")

    assert [level for level, _text in alerts(response)] == ["danger"]
    assert everything() == before


# --- Complete and cancel ----------------------------------------------------------------------


def test_completing_a_paid_order_marks_it_completed(support_client, confirmed_order):
    response = act(support_client, confirmed_order, "complete", version=confirmed_order.version)

    assert alerts(response) == [("success", f"Order {confirmed_order.number} marked fulfilled.")]
    assert fresh(confirmed_order).status == Order.Status.COMPLETED
    assert status_shown(response) == "COMPLETED"
    assert any("order.completed" in line and "CONFIRMED → COMPLETED" in line for line in timeline(response))


def test_completing_an_unpaid_order_is_refused_and_changes_nothing(support_client, order):
    before = everything()

    response = act(support_client, order, "complete", version=order.version)

    assert alerts(response) == [("danger", f"Order {order.number} is PENDING; it cannot become COMPLETED.")]
    assert everything() == before


def test_cancelling_an_unpaid_order_with_a_reason_shows_the_reason_in_the_timeline(support_client, order, laptop):
    response = act(support_client, order, "cancel", version=order.version, reason="Customer called to cancel")

    assert alerts(response) == [("success", f"Order {order.number} cancelled.")]
    assert fresh(order).status == Order.Status.CANCELLED
    assert status_shown(response) == "CANCELLED"
    last = timeline(response)[-1]
    assert "order.cancelled" in last and "Customer called to cancel" in last and "PENDING → CANCELLED" in last
    laptop.refresh_from_db()
    assert laptop.stock == 10  # the reserved unit is back
    assert offered(response) == set()


def test_cancelling_a_paid_order_refunds_it_in_full_and_shows_the_reason(support_client, confirmed_order):
    response = act(support_client, confirmed_order, "cancel", version=confirmed_order.version, reason="Out of stock")

    order = fresh(confirmed_order)
    assert (order.status, order.refunded_amount) == (Order.Status.CANCELLED, Decimal("1055.00"))
    assert alerts(response) == [("success", f"Order {order.number} cancelled.")]
    assert "Order cancelled; refunded 1055.00 USD: Out of stock" in timeline(response)[-1]
    assert len(page(response).find_all("tr", data_testid="refund-row")) == 1


def test_a_cancel_whose_refund_answer_is_lost_is_not_reported_as_done(support_client, laptop, mouse):
    order = paid_order({laptop: 1, mouse: 2}, token="tok_refund_timeout")

    response = act(support_client, order, "cancel", version=order.version, reason="Too late")

    assert fresh(order).status == Order.Status.CONFIRMED  # waits for the refund's answer
    shown = alerts(response)
    assert shown, "the page should say what became of the cancel"
    assert all(level != "success" for level, _text in shown), shown


# --- Refunds ----------------------------------------------------------------------------------


def test_a_partial_refund_then_the_rest_refunds_the_order_with_two_refunds_on_the_page(finance_client, confirmed_order):
    first_page = open_order(finance_client, confirmed_order)
    first = form_values(first_page, action_url(confirmed_order, "refund"))

    after_first = act(
        finance_client,
        confirmed_order,
        "refund",
        version=first["version"],
        amount="55.00",
        reason="Scratched lid",
    )

    assert alerts(after_first) == [("success", f"Refund of 55.00 issued for order {confirmed_order.number}.")]
    order = fresh(confirmed_order)
    assert (order.status, order.refunded_amount) == (Order.Status.CONFIRMED, Decimal("55.00"))
    assert page(after_first).by_testid("refunded-amount").text == "55.00"
    rest = form_values(after_first, action_url(confirmed_order, "refund"))
    assert rest["amount"] == "1000.00"
    assert int(rest["version"]) == order.version

    after_rest = act(finance_client, confirmed_order, "refund", version=rest["version"], amount=rest["amount"])

    order = fresh(confirmed_order)
    assert (order.status, order.refunded_amount) == (Order.Status.REFUNDED, Decimal("1055.00"))
    assert status_shown(after_rest) == "REFUNDED"
    refund_rows = [row.text for row in page(after_rest).find_all("tr", data_testid="refund-row")]
    assert len(refund_rows) == 2
    assert "\u221255.00" in refund_rows[0] and "Scratched lid" in refund_rows[0]
    assert "\u22121000.00" in refund_rows[1]
    refund_events = [line for line in timeline(after_rest) if "refund.succeeded" in line]
    assert len(refund_events) == 2
    assert "Refunded 55.00 USD: Scratched lid" in refund_events[0]
    assert "CONFIRMED → REFUNDED" in refund_events[1]
    assert offered(after_rest) == set()
    assert list(Refund.objects.values_list("status", flat=True)) == ["SUCCEEDED", "SUCCEEDED"]


def test_a_full_refund_with_restock_puts_the_stock_back(finance_client, confirmed_order, laptop, mouse):
    act(finance_client, confirmed_order, "refund", version=confirmed_order.version, amount="1055.00", restock="on")

    laptop.refresh_from_db()
    mouse.refresh_from_db()
    assert (laptop.stock, mouse.stock) == (10, 100)
    assert fresh(confirmed_order).status == Order.Status.REFUNDED


def test_a_refund_whose_answer_is_lost_is_not_reported_as_issued(finance_client, laptop, mouse):
    order = paid_order({laptop: 1, mouse: 2}, token="tok_refund_timeout")

    response = act(finance_client, order, "refund", version=order.version, amount="100.00")

    assert Refund.objects.get().status == Refund.Status.PENDING
    assert fresh(order).refunded_amount == Decimal("0.00")
    shown = alerts(response)
    assert shown, "the page should say what became of the refund"
    assert all(level != "success" for level, _text in shown), shown


@pytest.mark.parametrize("amount", ["1055.01", "5000.00"])
def test_a_refund_above_what_remains_is_refused_with_a_message_and_changes_nothing(
    finance_client, confirmed_order, amount
):
    before = everything()

    response = act(finance_client, confirmed_order, "refund", version=confirmed_order.version, amount=amount)

    assert alerts(response) == [
        ("danger", f"A refund on order {confirmed_order.number} must be between 0.01 and 1055.00.")
    ]
    assert everything() == before


def test_a_refund_above_what_remains_after_a_partial_refund_is_refused(finance_client, confirmed_order):
    act(finance_client, confirmed_order, "refund", version=confirmed_order.version, amount="1000.00")
    before = everything()

    response = act(finance_client, confirmed_order, "refund", version=fresh(confirmed_order).version, amount="55.01")

    assert alerts(response) == [
        ("danger", f"A refund on order {confirmed_order.number} must be between 0.01 and 55.00.")
    ]
    assert everything() == before
    assert fresh(confirmed_order).refunded_amount == Decimal("1000.00")


@pytest.mark.parametrize(("amount", "field"), [("0", "amount"), ("-5", "amount"), ("abc", "amount"), ("", "amount")])
def test_an_invalid_refund_amount_is_refused_by_the_form_and_changes_nothing(
    finance_client, confirmed_order, amount, field
):
    before = everything()

    response = act(finance_client, confirmed_order, "refund", version=confirmed_order.version, amount=amount)

    ((level, text),) = alerts(response)
    assert level == "danger" and text.startswith(f"{field}:")
    assert everything() == before


def test_a_refund_the_gateway_refuses_shows_why_and_gives_nothing_back(finance_client, laptop, mouse):
    order = paid_order({laptop: 1, mouse: 2}, token="tok_refund_decline")

    response = act(finance_client, order, "refund", version=order.version, amount="100.00")

    assert alerts(response) == [("danger", "The refund was refused: The refund was declined by the card issuer.")]
    order = fresh(order)
    assert (order.status, order.refunded_amount) == (Order.Status.CONFIRMED, Decimal("0.00"))
    assert order.payments.get().refunded_amount == Decimal("0.00")


def test_refunding_an_unpaid_order_is_refused_and_changes_nothing(finance_client, order):
    before = everything()

    response = act(finance_client, order, "refund", version=order.version, amount="10.00")

    assert [level for level, _text in alerts(response)] == ["danger"]
    assert everything() == before


# --- Versions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["pay", "cancel", "complete", "refund"])
def test_an_action_without_a_version_is_refused_and_changes_nothing(super_client, laptop, mouse, action):
    order = _order_in("PENDING" if action in ("pay", "cancel") else "CONFIRMED", laptop, mouse)
    before = everything()

    response = act(super_client, order, action, amount="10.00", card="tok_visa")

    assert alerts(response) == [("danger", "version: This field is required.")]
    assert everything() == before


def test_an_action_from_a_page_the_service_changed_since_is_refused_with_a_warning(support_client, order):
    """The issue's case: take the version, someone cancels the order, then the stale form is posted."""
    shown = open_order(support_client, order)
    stale = form_values(shown, action_url(order, "pay"))
    cancel_order(order_id=order.pk, actor=Actor.system("someone else"), reason="Changed elsewhere")
    before = everything()

    response = act(support_client, order, "pay", **stale)

    assert alerts(response) == [("warning", f"Order {order.number} {CONFLICT} Here is its current state.")]
    assert everything() == before
    assert Payment.objects.filter(order=order, status=Payment.Status.COMPLETED).count() == 0
    current = fresh(order)
    assert status_shown(response) == "CANCELLED"
    assert version_shown(response) == current.version
    assert offered(response) == set()


def _someone_else_changes(order: Order, action: str) -> None:
    """Change the order behind the page's back in a way that still allows `action`."""
    system = Actor.system("someone else")
    if action in ("pay", "cancel-unpaid"):
        process_payment(order_id=order.pk, actor=system, token="tok_decline")  # FAILED: still payable, cancellable
    else:
        refund_order(order_id=order.pk, actor=system, amount="55.00")  # still CONFIRMED


@pytest.mark.parametrize(
    ("action", "post", "data"),
    [
        ("pay", "pay", {"card": "tok_visa"}),
        ("cancel-unpaid", "cancel", {"reason": "stale"}),
        ("cancel-paid", "cancel", {"reason": "stale"}),
        ("complete", "complete", {}),
        ("refund", "refund", {"amount": "100.00", "reason": "stale"}),
    ],
)
def test_a_stale_version_is_refused_even_when_the_action_is_still_possible(
    super_client, laptop, mouse, action, post, data
):
    order = _order_in("PENDING" if action in ("pay", "cancel-unpaid") else "CONFIRMED", laptop, mouse)
    stale_version = form_values(open_order(super_client, order), action_url(order, post))["version"]
    _someone_else_changes(order, action)
    before = everything()
    changed = fresh(order)

    response = act(super_client, order, post, version=stale_version, **data)

    assert alerts(response) == [("warning", f"Order {order.number} {CONFLICT} Here is its current state.")]
    assert everything() == before
    assert status_shown(response) == changed.status
    assert version_shown(response) == changed.version
    # The page now carries the current version, with which the action goes through.
    assert form_values(response, action_url(order, post))["version"] == str(changed.version)


def test_the_current_version_from_the_reloaded_page_carries_the_action_out(super_client, confirmed_order):
    stale = form_values(open_order(super_client, confirmed_order), action_url(confirmed_order, "complete"))
    refund_order(order_id=confirmed_order.pk, actor=Actor.system("someone else"), amount="55.00")
    reloaded = act(super_client, confirmed_order, "complete", **stale)
    current = form_values(reloaded, action_url(confirmed_order, "complete"))

    response = act(super_client, confirmed_order, "complete", **current)

    assert alerts(response) == [("success", f"Order {confirmed_order.number} marked fulfilled.")]
    assert fresh(confirmed_order).status == Order.Status.COMPLETED


def test_two_staff_acting_on_the_same_page_version_only_the_first_goes_through(
    support_user, finance_user, confirmed_order
):

    support, finance = Client(), Client()
    support.force_login(support_user)
    finance.force_login(finance_user)
    version = form_values(open_order(finance, confirmed_order), action_url(confirmed_order, "refund"))["version"]

    act(support, confirmed_order, "complete", version=version)
    events = OrderEvent.objects.count()
    response = act(finance, confirmed_order, "refund", version=version, amount="1055.00")

    assert [level for level, _text in alerts(response)] == ["warning"]
    order = fresh(confirmed_order)
    assert (order.status, order.refunded_amount) == (Order.Status.COMPLETED, Decimal("0.00"))
    assert OrderEvent.objects.count() == events
    assert Product.objects.get(sku="LAP-001").stock == 9
