"""Order pages: a guest's private link, "My orders" for a signed-in customer, paying and cancelling there."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from shop.models import Order, OrderEvent, Product, SandboxTransaction
from tests.factories import CustomerFactory, UserFactory, paid_order, place_order
from tests.storefront.helpers import messages_in, page

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_shopper(db):
    return CustomerFactory(user=UserFactory(email="olga@example.com"), email="olga@example.com", name="Olga Other")


@pytest.fixture
def signed_in(client, shopper):
    client.force_login(shopper.user)
    return client


def guest_url(order, action=""):
    return reverse("storefront:guest-order", args=[order.access_token]) + action


def account_url(order, action=""):
    return reverse("storefront:account-order", args=[order.number]) + action


def stock_of(product) -> int:
    return Product.objects.get(pk=product.pk).stock


def timeline(tree) -> list[str]:
    return [entry.text for entry in tree.by_testid("timeline").find_all("li")]


def snapshot(order):
    order.refresh_from_db()
    return order.status, order.version, OrderEvent.objects.filter(order=order).count()


# --- A guest's private page -------------------------------------------------------------------


def test_the_guest_page_shows_the_order_with_its_private_link(client, order):
    tree = page(client.get(guest_url(order)))

    assert tree.find("h1").text == f"Order {order.number}"
    assert tree.by_testid("order-status").text == "Pending"
    assert tree.by_testid("order-total").text == "1055.00 USD"
    assert tree.by_testid("private-link").attrs["href"] == f"http://testserver{guest_url(order)}"
    assert "123 Main St, Tashkent" in tree.find("main").text


@pytest.mark.parametrize("token", ["wrong-token", "x" * 43, "ORD-1234567890"])
def test_the_guest_page_with_a_wrong_token_is_404(client, order, token):
    assert client.get(reverse("storefront:guest-order", args=[token])).status_code == 404


def test_the_guest_page_does_not_take_the_order_number_as_a_token(client, order):
    assert client.get(reverse("storefront:guest-order", args=[order.number])).status_code == 404


@pytest.mark.parametrize("action", ["pay/", "cancel/"])
def test_paying_or_cancelling_with_a_wrong_token_is_404_and_changes_nothing(client, order, action):
    before = snapshot(order)

    response = client.post(reverse("storefront:guest-order", args=["wrong-token"]) + action, {"card": "tok_visa"})

    assert response.status_code == 404
    assert snapshot(order) == before
    assert SandboxTransaction.objects.count() == 0


def test_the_timeline_shows_the_orders_events_in_order(client, laptop, mouse):
    order = paid_order({laptop: 1, mouse: 2}, shipping_cost="5.00")

    tree = page(client.get(guest_url(order)))

    assert timeline(tree)[0].endswith("Order placed: 2 line(s), total 1055.00 USD.")
    assert [entry.split(" ", 2)[-1] for entry in timeline(tree)] == [
        "Order placed: 2 line(s), total 1055.00 USD.",
        "Payment of 1055.00 USD started via fake.",
        "Payment of 1055.00 USD captured.",
    ]
    assert tree.by_testid("timeline").find("time").attrs["datetime"]


def test_a_pending_order_offers_to_pay_and_to_cancel(client, order):
    tree = page(client.get(guest_url(order)))

    assert tree.by_testid("pay") is not None
    assert tree.by_testid("cancel") is not None
    assert tree.find("form", action=guest_url(order, "pay/")) is not None
    assert tree.find("form", action=guest_url(order, "cancel/")) is not None


def test_paying_a_pending_order_on_its_page_confirms_it(client, order):
    response = client.post(guest_url(order, "pay/"), {"card": "tok_visa"}, follow=True)

    assert response.redirect_chain == [(guest_url(order), 302)]
    assert page(response).by_testid("order-status").text == "Confirmed"
    assert messages_in(response) == [f"Thank you! Order {order.number} is paid."]
    assert SandboxTransaction.objects.filter(kind="CHARGE", succeeded=True).count() == 1


def test_paying_a_paid_order_again_is_refused_with_a_message_and_charges_nothing(client, confirmed_order):
    order = confirmed_order
    before = snapshot(order)

    response = client.post(guest_url(order, "pay/"), {"card": "tok_visa"}, follow=True)

    assert snapshot(order) == before
    assert SandboxTransaction.objects.filter(kind="CHARGE").count() == 1
    [message] = messages_in(response)
    assert "cannot become PROCESSING" in message
    assert page(response).find("div", id="messages").find(class_="alert-danger") is not None


def test_a_confirmed_order_offers_no_pay_form(client, confirmed_order):
    tree = page(client.get(guest_url(confirmed_order)))

    assert tree.by_testid("pay") is None
    assert tree.by_testid("cancel") is not None


# --- Cancelling -------------------------------------------------------------------------------


def test_cancelling_on_the_guest_page_with_a_reason_cancels_returns_stock_and_records_the_reason(
    client, order, laptop, mouse
):
    assert (stock_of(laptop), stock_of(mouse)) == (9, 98)

    response = client.post(guest_url(order, "cancel/"), {"reason": "Ordered the wrong colour"}, follow=True)

    assert response.redirect_chain == [(guest_url(order), 302)]
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert (stock_of(laptop), stock_of(mouse)) == (10, 100)
    event = order.events.get(kind="order.cancelled")
    assert event.message == "Ordered the wrong colour"
    assert event.actor_label == "guest@example.com"
    tree = page(response)
    assert tree.by_testid("order-status").text == "Cancelled"
    assert messages_in(tree) == [f"Order {order.number} is cancelled."]
    assert timeline(tree)[-1].endswith("Ordered the wrong colour")
    assert tree.by_testid("cancel") is None
    assert tree.by_testid("pay") is None


def test_cancelling_without_a_reason_says_so_in_the_timeline(client, order):
    response = client.post(guest_url(order, "cancel/"), {}, follow=True)

    assert timeline(page(response))[-1].endswith("Order cancelled.")


def test_cancelling_twice_shows_an_error_and_changes_nothing(client, order, laptop):
    client.post(guest_url(order, "cancel/"), {"reason": "first"}, follow=True)
    before = snapshot(order)
    stock = stock_of(laptop)

    response = client.post(guest_url(order, "cancel/"), {"reason": "second"}, follow=True)

    assert response.redirect_chain == [(guest_url(order), 302)]
    assert snapshot(order) == before
    assert stock_of(laptop) == stock == 10
    [message] = messages_in(response)
    assert message == f"Order {order.number} is CANCELLED; it cannot become CANCELLED."
    assert page(response).by_id("messages").find(class_="alert-danger") is not None
    assert not any(entry.endswith("second") for entry in timeline(page(response)))


def test_cancelling_a_paid_order_refunds_it_in_full_and_returns_the_stock(client, confirmed_order, laptop, mouse):
    order = confirmed_order

    response = client.post(guest_url(order, "cancel/"), {"reason": "Changed my mind"}, follow=True)

    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert order.refunded_amount == Decimal("1055.00")
    assert (stock_of(laptop), stock_of(mouse)) == (10, 100)
    assert SandboxTransaction.objects.filter(kind="REFUND", succeeded=True).get().amount == Decimal("1055.00")
    tree = page(response)
    assert tree.by_testid("order-status").text == "Cancelled"
    assert any("Changed my mind" in entry for entry in timeline(tree))


def test_a_too_long_reason_cancels_nothing(client, order):
    before = snapshot(order)

    client.post(guest_url(order, "cancel/"), {"reason": "x" * 256})

    assert snapshot(order) == before


@pytest.mark.parametrize("action", ["pay/", "cancel/"])
def test_paying_and_cancelling_refuse_get(client, order, action):
    assert client.get(guest_url(order, action)).status_code == 405


# --- My orders --------------------------------------------------------------------------------


def test_my_orders_sends_an_anonymous_visitor_to_log_in(client, db):
    response = client.get(reverse("storefront:account-orders"))

    assert response.status_code == 302
    assert response.url == f"{reverse('account_login')}?next={reverse('storefront:account-orders')}"


def test_an_account_order_sends_an_anonymous_visitor_to_log_in(client, shopper, laptop):
    order = place_order({laptop: 1}, customer=shopper)

    response = client.get(account_url(order))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_my_orders_lists_only_the_customers_own_orders_newest_first(signed_in, shopper, other_shopper, laptop):
    first = place_order({laptop: 1}, customer=shopper)
    second = place_order({laptop: 2}, customer=shopper)
    theirs = place_order({laptop: 1}, customer=other_shopper)
    guest = place_order({laptop: 1}, email="sam@example.com")  # same email, but a guest's: not claimed

    tree = page(signed_in.get(reverse("storefront:account-orders")))

    listed = [link.text for link in tree.find("table").find_all("a")]
    assert listed == [second.number, first.number]
    assert theirs.number not in tree.find("main").text
    assert guest.number not in tree.find("main").text
    assert tree.find("a", href=account_url(first)) is not None


def test_my_orders_without_orders_says_so(signed_in):
    tree = page(signed_in.get(reverse("storefront:account-orders")))

    assert "You have no orders yet." in tree.find("main").text


def test_my_orders_shows_twenty_orders_a_page(signed_in, shopper, mouse):
    for _ in range(21):
        place_order({mouse: 1}, customer=shopper)

    first = page(signed_in.get(reverse("storefront:account-orders")))
    second = page(signed_in.get(reverse("storefront:account-orders"), {"page": 2}))

    assert len(first.find("tbody").find_all("tr")) == 20
    assert len(second.find("tbody").find_all("tr")) == 1


def test_a_customer_opens_their_own_order_by_number(signed_in, shopper, laptop):
    order = place_order({laptop: 1}, customer=shopper)

    tree = page(signed_in.get(account_url(order)))

    assert tree.find("h1").text == f"Order {order.number}"
    assert tree.by_testid("private-link") is None
    assert tree.find("form", action=account_url(order, "pay/")) is not None


def test_another_customers_order_number_is_404(signed_in, other_shopper, laptop):
    theirs = place_order({laptop: 1}, customer=other_shopper)

    assert signed_in.get(account_url(theirs)).status_code == 404


def test_a_guest_orders_number_is_404_in_an_account(signed_in, order):
    assert signed_in.get(account_url(order)).status_code == 404


@pytest.mark.parametrize("action", ["pay/", "cancel/"])
def test_paying_or_cancelling_another_customers_order_is_404_and_changes_nothing(
    signed_in, other_shopper, laptop, action
):
    theirs = place_order({laptop: 1}, customer=other_shopper)
    before = snapshot(theirs)

    response = signed_in.post(account_url(theirs, action), {"card": "tok_visa", "reason": "mine now"})

    assert response.status_code == 404
    assert snapshot(theirs) == before


def test_a_customer_cancels_their_order_from_the_account_page(signed_in, shopper, laptop):
    order = place_order({laptop: 2}, customer=shopper)

    response = signed_in.post(account_url(order, "cancel/"), {"reason": "Too slow"}, follow=True)

    assert response.redirect_chain == [(account_url(order), 302)]
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert stock_of(laptop) == 10
    event = order.events.get(kind="order.cancelled")
    assert event.actor_user == shopper.user
    assert timeline(page(response))[-1].endswith("Too slow")


def test_a_customer_pays_their_order_from_the_account_page(signed_in, shopper, laptop):
    order = place_order({laptop: 1}, customer=shopper)

    response = signed_in.post(account_url(order, "pay/"), {"card": "tok_visa"}, follow=True)

    assert response.redirect_chain == [(account_url(order), 302)]
    assert page(response).by_testid("order-status").text == "Confirmed"


def test_the_private_link_still_works_for_a_signed_in_visitor(signed_in, order):
    response = signed_in.get(guest_url(order))

    assert response.status_code == 200


def test_a_guest_order_page_is_the_same_for_anyone_holding_the_link(order):
    assert Client().get(guest_url(order)).status_code == 200
