"""Who may open which back-office page and take which action: every role against every page and action.

Anonymous callers are sent to the login page (coming back where they were); signed-in users without the
permission get 403; a refused action changes nothing at all (orders, payments, refunds, events, stock).
"""

from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from shop.models import Order, Product
from tests.backoffice.conftest import ROLES
from tests.backoffice.helpers import everything, page
from tests.factories import CustomerFactory, paid_order, place_order

pytestmark = pytest.mark.django_db

ORDER_PAGES = {"dashboard", "orders", "orders-export", "order", "customers", "customer", "payments"}
PRODUCT_PAGES = {"products", "product"}
PAGES = sorted(ORDER_PAGES | PRODUCT_PAGES)

# Who may open the pages: order, customer and payment pages are Support's and Finance's; the catalog is also
# the Catalog group's. Superusers may do everything.
PAGE_ACCESS = {
    **dict.fromkeys(ORDER_PAGES, frozenset({"support", "finance", "superuser"})),
    **dict.fromkeys(PRODUCT_PAGES, frozenset({"support", "finance", "catalog", "superuser"})),
}
ACTION_ACCESS = {
    "order-pay": {"support", "finance", "superuser"},
    "order-cancel": {"support", "finance", "superuser"},
    "order-complete": {"support", "finance", "superuser"},
    "order-refund": {"finance", "superuser"},
    "product-update": {"catalog", "superuser"},
    "product-stock": {"catalog", "superuser"},
}
ACTIONS = sorted(ACTION_ACCESS)


@pytest.fixture
def objects(laptop, mouse):
    """One of everything a page can show: a customer with an order, a product."""
    customer = CustomerFactory(email="buyer@example.com", name="Bea Buyer")
    order = place_order({laptop: 1, mouse: 2}, shipping_cost="5.00", customer=customer)
    return {"order": order, "customer": customer, "product": laptop}


def page_url(name: str, objects) -> str:
    if name == "order":
        return reverse("backoffice:order", args=[objects["order"].number])
    if name == "customer":
        return reverse("backoffice:customer", args=[objects["customer"].pk])
    if name == "product":
        return reverse("backoffice:product", args=[objects["product"].pk])
    return reverse(f"backoffice:{name}")


def assert_sent_to_login(response, path: str):
    assert response.status_code == 302
    target = urlsplit(response.url)
    assert target.path == reverse("account_login")
    assert parse_qs(target.query)["next"] == [path]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", PAGES)
def test_each_page_is_open_only_to_the_roles_allowed_to_see_it(client, login, objects, name, role):
    login(role)
    url = page_url(name, objects)

    response = client.get(url)

    if role == "anonymous":
        assert_sent_to_login(response, url)
    elif role in PAGE_ACCESS[name]:
        assert response.status_code == 200
    else:
        assert response.status_code == 403


def test_an_anonymous_caller_comes_back_to_the_filtered_order_desk_after_logging_in(client, db):
    url = reverse("backoffice:orders") + "?status=PENDING&q=bea"

    response = client.get(url)

    assert_sent_to_login(response, url)


# --- Actions ----------------------------------------------------------------------------------


def _action_setup(action: str, laptop, mouse):
    """The object an action applies to, in a state that allows it, and the form a permitted user would post."""
    if action in ("order-complete", "order-refund"):
        order = paid_order({laptop: 1, mouse: 2}, shipping_cost="5.00")
    else:
        order = place_order({laptop: 1, mouse: 2}, shipping_cost="5.00")
    forms = {
        "order-pay": {"version": order.version, "card": "tok_visa"},
        "order-cancel": {"version": order.version, "reason": "Customer asked"},
        "order-complete": {"version": order.version},
        "order-refund": {"version": order.version, "amount": "100.00", "reason": "Goodwill"},
        "product-update": {"price": "999.00", "is_active": "on"},
        "product-stock": {"delta": "5", "reason": "Delivery"},
    }
    if action.startswith("product-"):
        return reverse(f"backoffice:{action}", args=[laptop.pk]), forms[action], order
    return reverse(f"backoffice:{action}", args=[order.number]), forms[action], order


def _assert_done(action: str, order: Order, laptop: Product):
    order.refresh_from_db()
    laptop.refresh_from_db()
    if action == "order-pay":
        assert order.status == Order.Status.CONFIRMED
    elif action == "order-cancel":
        assert order.status == Order.Status.CANCELLED
    elif action == "order-complete":
        assert order.status == Order.Status.COMPLETED
    elif action == "order-refund":
        assert order.refunded_amount == Decimal("100.00")
    elif action == "product-update":
        assert laptop.price == Decimal("999.00")
    elif action == "product-stock":
        # 10 in stock, 1 reserved by the order, 5 added.
        assert laptop.stock == 14


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ACTIONS)
def test_each_action_is_carried_out_only_for_the_roles_allowed_to_and_a_refusal_changes_nothing(
    client, login, laptop, mouse, action, role
):
    login(role)
    url, data, order = _action_setup(action, laptop, mouse)
    before = everything()

    response = client.post(url, data)

    if role in ACTION_ACCESS[action]:
        assert response.status_code == 302
        assert urlsplit(response.url).path in (
            reverse("backoffice:order", args=[order.number]),
            reverse("backoffice:product", args=[laptop.pk]),
        )
        _assert_done(action, order, laptop)
        return
    if role == "anonymous":
        assert_sent_to_login(response, url)
    else:
        assert response.status_code == 403
    assert everything() == before


@pytest.mark.parametrize("action", ACTIONS)
def test_actions_only_answer_post(super_client, laptop, mouse, action):
    url, _data, _order = _action_setup(action, laptop, mouse)
    before = everything()

    response = super_client.get(url)

    assert response.status_code == 405
    assert everything() == before


@pytest.mark.parametrize("action", ACTIONS)
def test_an_action_posted_without_the_csrf_token_is_refused_and_changes_nothing(superuser, laptop, mouse, action):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(superuser)
    url, data, _order = _action_setup(action, laptop, mouse)
    before = everything()

    response = browser.post(url, data)

    assert response.status_code == 403
    assert everything() == before


def test_an_action_posted_with_the_pages_csrf_token_is_carried_out(superuser, order):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(superuser)
    detail = browser.get(reverse("backoffice:order", args=[order.number]))
    cancel_url = reverse("backoffice:order-cancel", args=[order.number])
    form = page(detail).one("form", action=cancel_url)
    token = form.one("input", name="csrfmiddlewaretoken").attrs["value"]

    response = browser.post(cancel_url, {"csrfmiddlewaretoken": token, "version": order.version})

    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED


# --- What each role is offered on the pages ---------------------------------------------------


def _action_forms(response) -> set[str]:
    """The back-office actions the page offers a form for (the last part of their address: pay, refund...)."""
    return {
        form.attrs["action"].rstrip("/").rsplit("/", 1)[-1]
        for form in page(response).find_all("form", method="post")
        if form.attrs.get("action", "").startswith("/backoffice/")
    }


def test_support_sees_cancel_and_complete_but_no_refund_form_on_a_paid_order(support_client, confirmed_order):
    response = support_client.get(reverse("backoffice:order", args=[confirmed_order.number]))

    assert response.status_code == 200
    assert _action_forms(response) >= {"complete", "cancel"}
    assert "refund" not in _action_forms(response)
    assert page(response).find(data_testid="refund-action") is None


def test_support_is_refused_a_refund_even_when_posting_it_directly(support_client, confirmed_order):
    before = everything()

    response = support_client.post(
        reverse("backoffice:order-refund", args=[confirmed_order.number]),
        {"version": confirmed_order.version, "amount": "1055.00"},
    )

    assert response.status_code == 403
    assert everything() == before
    confirmed_order.refresh_from_db()
    assert (confirmed_order.status, confirmed_order.refunded_amount) == (Order.Status.CONFIRMED, Decimal("0.00"))


def test_finance_sees_the_refund_form_on_a_paid_order(finance_client, confirmed_order):
    response = finance_client.get(reverse("backoffice:order", args=[confirmed_order.number]))

    assert {"refund", "complete", "cancel"} <= _action_forms(response)
    assert "Up to 1055.00 can still be refunded." in page(response).by_testid("refund-action").text


@pytest.mark.parametrize(
    ("role", "editable"), [("support", False), ("finance", False), ("catalog", True), ("superuser", True)]
)
def test_the_product_page_offers_price_and_stock_forms_only_to_those_who_may_edit(
    client, login, laptop, role, editable
):
    login(role)

    response = client.get(reverse("backoffice:product", args=[laptop.pk]))

    assert response.status_code == 200
    expected = {"update", "stock"} if editable else set()
    assert _action_forms(response) == expected


def test_support_is_refused_product_edits_and_stock_changes(support_client, laptop):
    before = everything()

    price = support_client.post(reverse("backoffice:product-update", args=[laptop.pk]), {"price": "1.00"})
    stock = support_client.post(
        reverse("backoffice:product-stock", args=[laptop.pk]), {"delta": "-10", "reason": "Gone"}
    )

    assert (price.status_code, stock.status_code) == (403, 403)
    assert everything() == before
    laptop.refresh_from_db()
    assert (laptop.price, laptop.stock) == (Decimal("1000.00"), 10)


def test_the_superuser_is_offered_every_action_the_state_allows(super_client, confirmed_order):
    response = super_client.get(reverse("backoffice:order", args=[confirmed_order.number]))

    assert _action_forms(response) == {"refund", "complete", "cancel"}
