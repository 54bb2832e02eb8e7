"""Checkout: the order is placed through the service exactly once per form, paid, and the shopper sent to it."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from shop.models import CheckoutSubmission, Customer, Order, OrderEvent, Payment, Product, SandboxTransaction
from shop.services import reconcile_payments
from shop.services.checkout import guest_token_for
from tests.factories import UserFactory
from tests.storefront.helpers import (
    HTMX,
    add_to_cart,
    checkout_form,
    checkout_key,
    messages_in,
    page,
    session_cart,
)

pytestmark = pytest.mark.django_db

CHECKOUT = "/checkout/"
TIMES = "\N{MULTIPLICATION SIGN}"  # the pages write "2 <times> Mouse"


def charges():
    return SandboxTransaction.objects.filter(kind=SandboxTransaction.Kind.CHARGE)


def stock_of(product) -> int:
    return Product.objects.get(pk=product.pk).stock


def assert_nothing_placed():
    assert Order.objects.count() == 0
    assert CheckoutSubmission.objects.count() == 0
    assert Payment.objects.count() == 0
    assert charges().count() == 0


@pytest.fixture
def filled_cart(client, laptop, mouse):
    """1 laptop (1000.00) and 2 mice (25.00): 1050.00."""
    add_to_cart(client, laptop, 1)
    add_to_cart(client, mouse, 2)
    return client


# --- The checkout page ------------------------------------------------------------------------


def test_checkout_with_an_empty_cart_sends_the_shopper_to_the_catalog(client, db):
    response = client.get(CHECKOUT, follow=True)

    assert response.redirect_chain == [(reverse("storefront:catalog"), 302)]
    assert messages_in(response) == ["Your cart is empty."]


def test_posting_the_checkout_with_an_empty_cart_places_nothing(client, laptop):
    response = client.post(CHECKOUT, checkout_form(client, key=str(uuid.uuid4())))

    assert response.status_code == 302
    assert response.url == reverse("storefront:catalog")
    assert_nothing_placed()


def test_the_checkout_page_shows_the_summary_and_a_fresh_one_time_key(filled_cart):
    response = filled_cart.get(CHECKOUT)

    tree = page(response)
    summary = tree.find("aside").text
    assert f"1 {TIMES} Laptop" in summary and f"2 {TIMES} Mouse" in summary and "1050.00 USD" in summary
    assert tree.by_testid("place-order").text == "Place order and pay 1050.00 USD"
    key = tree.find("input", name="checkout_key")
    assert key.attrs["type"] == "hidden"
    uuid.UUID(key.attrs["value"])
    assert key.attrs["value"] != checkout_key(filled_cart)  # every visit hands out a new key
    for field in ("email", "name", "phone", "shipping_address", "payment_method", "card"):
        assert tree.by_testid("checkout-form").find(name=field) is not None, field


def test_the_guest_checkout_page_offers_to_log_in_and_come_back(filled_cart):
    tree = page(filled_cart.get(CHECKOUT))

    assert tree.find("a", href=reverse("account_login") + "?next=" + CHECKOUT) is not None


# --- A guest's checkout -----------------------------------------------------------------------


def test_guest_checkout_places_the_order_takes_payment_empties_the_cart_and_opens_the_private_page(
    filled_cart, laptop, mouse
):
    data = checkout_form(filled_cart)

    response = filled_cart.post(CHECKOUT, data)

    token = guest_token_for(uuid.UUID(data["checkout_key"]))
    assert response.status_code == 302
    assert response.url == f"/orders/{token}/"
    order = Order.objects.get()
    assert order.status == Order.Status.CONFIRMED
    assert order.customer.email == "ann@example.com"
    assert order.customer.name == "Ann Buyer"
    assert order.customer.user is None
    assert order.total == Decimal("1050.00")
    assert order.shipping_address == "1 Test Street\nTashkent"
    assert order.access_token_matches(token)
    assert [(item.product_sku, item.quantity) for item in order.items.all()] == [("LAP-001", 1), ("MOU-001", 2)]
    assert CheckoutSubmission.objects.get().order == order
    assert session_cart(filled_cart) == {}
    assert stock_of(laptop) == 9 and stock_of(mouse) == 98
    charge = charges().get()
    assert charge.succeeded and charge.amount == Decimal("1050.00")
    payment = Payment.objects.get(order=order)
    assert payment.status == Payment.Status.COMPLETED
    assert payment.gateway_transaction_id == charge.reference
    assert list(OrderEvent.objects.filter(order=order).values_list("kind", flat=True)) == [
        "order.created",
        "payment.started",
        "payment.succeeded",
    ]


def test_the_guest_order_page_after_checkout_shows_number_items_totals_status_and_private_link(filled_cart):
    response = filled_cart.post(CHECKOUT, checkout_form(filled_cart), follow=True)

    order = Order.objects.get()
    assert response.status_code == 200
    tree = page(response)
    assert tree.find("h1").text == f"Order {order.number}"
    assert tree.by_testid("order-status").text == "Confirmed"
    items = tree.find("section", aria_labelledby="items-heading").text
    assert "Laptop" in items and "LAP-001" in items and f"1 {TIMES} 1000.00" in items
    assert "Mouse" in items and f"2 {TIMES} 25.00" in items and "50.00" in items
    assert tree.by_testid("order-total").text == "1050.00 USD"
    link = tree.by_testid("private-link")
    assert link.attrs["href"] == f"http://testserver{response.request['PATH_INFO']}"
    assert link.text == link.attrs["href"]
    assert messages_in(tree) == [f"Thank you! Order {order.number} is paid."]
    assert tree.by_testid("pay") is None  # paid: nothing more to pay
    assert cart_badge_count(tree) == "0"


def cart_badge_count(tree):
    return tree.by_id("cart-badge").by_testid("cart-count").text


def test_the_private_link_opens_the_order_later_from_another_browser(filled_cart):
    response = filled_cart.post(CHECKOUT, checkout_form(filled_cart))

    later = Client().get(response.url)
    assert later.status_code == 200
    assert page(later).by_testid("order-status").text == "Confirmed"


def test_a_declined_card_leads_to_the_order_page_with_the_reason_and_a_form_to_pay_again(filled_cart, laptop):
    data = checkout_form(filled_cart, card="tok_decline")

    response = filled_cart.post(CHECKOUT, data, follow=True)

    token = guest_token_for(uuid.UUID(data["checkout_key"]))
    assert response.redirect_chain == [(f"/orders/{token}/", 302)]
    order = Order.objects.get()
    assert order.status == Order.Status.FAILED
    tree = page(response)
    assert messages_in(tree) == ["The payment was declined: Your card was declined. Try another card."]
    assert tree.by_testid("order-status").text == "Failed"
    pay_form = next(tree.by_testid("pay").ancestors())
    assert pay_form.tag == "form"
    assert pay_form.attrs["action"] == f"/orders/{token}/pay/"
    assert pay_form.find("input", name="card") is not None
    assert session_cart(filled_cart) == {}  # the order exists: its stock is reserved
    assert stock_of(laptop) == 9
    assert charges().filter(succeeded=True).count() == 0


def test_paying_again_with_a_good_card_after_a_decline_confirms_the_order_with_one_charge(filled_cart):
    first = filled_cart.post(CHECKOUT, checkout_form(filled_cart, card="tok_decline"), follow=True)
    order_url = first.redirect_chain[-1][0]

    response = filled_cart.post(f"{order_url}pay/", {"card": "tok_visa"}, follow=True)

    assert response.redirect_chain == [(order_url, 302)]
    order = Order.objects.get()
    assert order.status == Order.Status.CONFIRMED
    tree = page(response)
    assert tree.by_testid("order-status").text == "Confirmed"
    assert messages_in(tree) == [f"Thank you! Order {order.number} is paid."]
    succeeded = charges().filter(succeeded=True)
    assert succeeded.count() == 1
    assert succeeded.get().amount == order.total
    assert charges().filter(succeeded=False).count() == 1  # the declined attempt, which took no money
    assert Payment.objects.filter(order=order, status=Payment.Status.COMPLETED).count() == 1


def test_card_numbers_with_spaces_are_accepted(filled_cart):
    filled_cart.post(CHECKOUT, checkout_form(filled_cart, card="4242 4242 4242 4242"))

    assert Order.objects.get().status == Order.Status.CONFIRMED


def test_a_payment_whose_answer_is_lost_says_the_shop_is_waiting_and_the_page_asks_again(filled_cart):
    response = filled_cart.post(CHECKOUT, checkout_form(filled_cart, card="tok_timeout"), follow=True)

    tree = page(response)
    assert tree.by_testid("order-status").text == "Processing"
    assert messages_in(tree) == ["We are waiting for the payment provider's answer; this page will show it."]
    body = tree.by_id("order-body")
    order_url = response.redirect_chain[-1][0]
    assert (body.attrs.get("hx-get"), body.attrs.get("hx-trigger")) == (order_url, "every 2s")
    assert body.attrs.get("hx-swap") == "outerHTML"


def test_the_waiting_order_page_stops_asking_once_the_payment_is_settled(filled_cart):
    response = filled_cart.post(CHECKOUT, checkout_form(filled_cart, card="tok_timeout"), follow=True)
    order_url = response.redirect_chain[-1][0]
    polled = page(filled_cart.get(order_url, headers=HTMX))
    assert polled.by_id("order-body").attrs.get("hx-trigger") == "every 2s"

    reconcile_payments(older_than=timedelta(0))
    settled = page(filled_cart.get(order_url, headers=HTMX))

    assert settled.by_testid("order-status").text == "Confirmed"
    assert "hx-trigger" not in settled.by_id("order-body").attrs
    assert "hx-get" not in settled.by_id("order-body").attrs


def test_a_settled_order_page_does_not_poll(filled_cart):
    response = filled_cart.post(CHECKOUT, checkout_form(filled_cart), follow=True)

    assert "hx-trigger" not in page(response).by_id("order-body").attrs


# --- Field errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("email", "not-an-email", "Enter a valid email address."),
        ("email", "", "This field is required."),
        ("name", "", "This field is required."),
        ("shipping_address", "", "This field is required."),
        ("payment_method", "IOU", "Select a valid choice. IOU is not one of the available choices."),
    ],
)
def test_an_invalid_field_is_400_with_the_error_next_to_it_and_nothing_placed(filled_cart, laptop, field, value, error):
    data = checkout_form(filled_cart, **{field: value})

    response = filled_cart.post(CHECKOUT, data)

    assert response.status_code == 400
    tree = page(response)
    control = tree.by_id(f"id_{field}")
    wrapper = tree.by_id(f"div_id_{field}")
    assert control.attrs.get("aria-invalid") == "true"
    feedback = tree.by_id(control.attrs["aria-describedby"].split()[0])
    assert feedback.text == error
    assert wrapper in feedback.ancestors()  # the message sits with its field
    assert_nothing_placed()
    assert Customer.objects.count() == 0
    assert session_cart(filled_cart) == {"LAP-001": 1, "MOU-001": 2}
    assert stock_of(laptop) == 10


@pytest.mark.parametrize("key", ["", "not-a-uuid"])
def test_a_form_without_a_valid_one_time_key_is_400_with_a_visible_explanation_and_nothing_placed(filled_cart, key):
    data = checkout_form(filled_cart)
    data["checkout_key"] = key

    response = filled_cart.post(CHECKOUT, data)

    assert response.status_code == 400
    assert_nothing_placed()
    form = page(response).by_testid("checkout-form")
    assert form.find(class_="alert-danger") or form.find(class_="invalid-feedback"), (
        "the page is refused without saying why"
    )


def test_a_form_with_errors_keeps_what_was_typed_and_the_same_one_time_key(filled_cart):
    data = checkout_form(filled_cart, email="ann@", name="Ann Buyer")

    tree = page(filled_cart.post(CHECKOUT, data))

    assert tree.by_id("id_name").attrs["value"] == "Ann Buyer"
    assert tree.by_id("id_email").attrs["value"] == "ann@"
    assert tree.find("input", name="checkout_key").attrs["value"] == data["checkout_key"]


def test_fixing_the_errors_and_sending_again_places_one_order(filled_cart):
    data = checkout_form(filled_cart, email="ann@")
    assert filled_cart.post(CHECKOUT, data).status_code == 400

    response = filled_cart.post(CHECKOUT, {**data, "email": "ann@example.com"})

    assert response.status_code == 302
    assert Order.objects.get().customer.email == "ann@example.com"


# --- The catalog moved on since the cart was filled -------------------------------------------


def test_a_price_changed_since_the_cart_was_filled_sends_the_shopper_back_to_the_cart_and_places_no_order(
    client, laptop
):
    add_to_cart(client, laptop, 1)  # at 1000.00
    data = checkout_form(client)  # the checkout page said: pay 1000.00
    Product.objects.filter(pk=laptop.pk).update(price=Decimal("1200.00"))

    response = client.post(CHECKOUT, data, follow=True)

    assert response.redirect_chain == [(reverse("storefront:cart"), 302)], "an order was placed at the new price"
    assert_nothing_placed()
    [message] = messages_in(response)
    assert "price" in message and "1200.00" in message
    assert message.endswith("Please check your cart and try again.")
    assert session_cart(client) == {"LAP-001": 1}
    assert stock_of(laptop) == 10


def test_a_product_renamed_since_the_cart_was_filled_sends_the_shopper_back_to_the_cart(client, laptop):
    add_to_cart(client, laptop, 1)
    data = checkout_form(client)
    Product.objects.filter(pk=laptop.pk).update(name="Refurbished Laptop")

    response = client.post(CHECKOUT, data, follow=True)

    assert response.redirect_chain == [(reverse("storefront:cart"), 302)], "an order was placed for another product"
    assert_nothing_placed()


def test_stock_run_out_since_the_cart_was_filled_is_explained_and_places_no_order(client, keyboard):
    add_to_cart(client, keyboard, 3)
    data = checkout_form(client)
    Product.objects.filter(pk=keyboard.pk).update(stock=1)

    response = client.post(CHECKOUT, data, follow=True)

    assert response.redirect_chain == [(reverse("storefront:cart"), 302)]
    assert_nothing_placed()
    assert messages_in(response) == [
        "Not enough stock: KEY-001 (1 left, 3 asked). Please check your cart and try again."
    ]
    assert session_cart(client) == {"KEY-001": 3}
    assert stock_of(keyboard) == 1
    assert "Only 1 in stock" in page(response).by_testid("cart-line-KEY-001").text


def test_a_product_withdrawn_since_the_cart_was_filled_is_explained_and_places_no_order(client, laptop, keyboard):
    add_to_cart(client, laptop, 1)
    add_to_cart(client, keyboard, 1)
    data = checkout_form(client)
    Product.objects.filter(pk=keyboard.pk).update(is_active=False)

    response = client.post(CHECKOUT, data, follow=True)

    assert response.redirect_chain == [(reverse("storefront:cart"), 302)]
    assert_nothing_placed()
    assert messages_in(response) == ["Product KEY-001 is not for sale. Please check your cart and try again."]
    assert stock_of(laptop) == 10


# --- Double submission ------------------------------------------------------------------------


def test_sending_the_same_checkout_form_twice_places_one_order_charges_once_and_leads_to_it_both_times(
    filled_cart, laptop
):
    data = checkout_form(filled_cart)

    first = filled_cart.post(CHECKOUT, data)
    second = filled_cart.post(CHECKOUT, data)

    token = guest_token_for(uuid.UUID(data["checkout_key"]))
    assert first.status_code == 302
    assert first.url == f"/orders/{token}/"
    assert Order.objects.count() == 1
    assert charges().count() == 1
    assert stock_of(laptop) == 9
    assert (second.status_code, second.url) == (302, first.url), "the repeated form did not lead to its order"


def test_a_new_checkout_form_after_an_order_places_a_new_order(filled_cart, laptop):
    filled_cart.post(CHECKOUT, checkout_form(filled_cart))
    add_to_cart(filled_cart, laptop, 1)

    filled_cart.post(CHECKOUT, checkout_form(filled_cart))

    assert Order.objects.count() == 2
    assert charges().count() == 2


# --- A signed-in customer ---------------------------------------------------------------------


def test_the_signed_in_checkout_asks_for_no_contact_details(client, shopper, laptop):
    client.force_login(shopper.user)
    add_to_cart(client, laptop)

    tree = page(client.get(CHECKOUT))

    form = tree.by_testid("checkout-form")
    assert {field.attrs["name"] for field in form.find_all("input") + form.find_all("textarea")} == {
        "csrfmiddlewaretoken",
        "checkout_key",
        "shipping_address",
        "card",
    }
    assert form.find("select", name="payment_method") is not None
    assert "Ordering as a guest" not in form.text


def test_a_signed_in_customer_checks_out_without_contact_fields_and_lands_on_their_account_order(
    client, shopper, laptop
):
    client.force_login(shopper.user)
    add_to_cart(client, laptop, 2)
    data = checkout_form(client, signed_in=True)

    response = client.post(CHECKOUT, data)

    order = Order.objects.get()
    assert response.status_code == 302
    assert response.url == f"/account/orders/{order.number}/"
    assert order.customer == shopper
    assert order.status == Order.Status.CONFIRMED
    assert order.events.get(kind="order.created").actor_user == shopper.user
    shown = client.get(response.url)
    assert shown.status_code == 200
    tree = page(shown)
    assert tree.by_testid("order-status").text == "Confirmed"
    assert tree.by_testid("private-link") is None
    assert session_cart(client) == {}


def test_a_signed_in_user_without_a_profile_gets_one_from_the_account(client, laptop):
    user = UserFactory(email="new@example.com")
    client.force_login(user)
    add_to_cart(client, laptop)

    response = client.post(CHECKOUT, checkout_form(client, signed_in=True))

    order = Order.objects.get()
    assert order.customer.user == user
    assert order.customer.email == "new@example.com"
    assert response.url == f"/account/orders/{order.number}/"


def test_contact_fields_sent_by_a_signed_in_customer_are_ignored(client, shopper, laptop):
    client.force_login(shopper.user)
    add_to_cart(client, laptop)

    client.post(CHECKOUT, checkout_form(client, signed_in=True, email="mallory@example.com", name="Mallory"))

    order = Order.objects.get()
    assert order.customer == shopper
    assert not Customer.objects.filter(email="mallory@example.com").exists()


def test_a_signed_in_customer_sending_the_form_twice_gets_one_order_and_one_charge(client, shopper, laptop):
    client.force_login(shopper.user)
    add_to_cart(client, laptop)
    data = checkout_form(client, signed_in=True)

    first = client.post(CHECKOUT, data)
    second = client.post(CHECKOUT, data)

    assert Order.objects.count() == 1
    assert charges().count() == 1
    assert (second.status_code, second.url) == (302, first.url)
