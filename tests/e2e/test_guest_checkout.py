"""A guest buys from the catalog to the confirmation page, and the private link opens the order anywhere."""

import re

import pytest
from django.core.signals import request_started
from playwright.sync_api import expect

from shop.models import Order, Payment, SandboxTransaction
from tests.e2e import shopper

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_guest_checks_out_from_the_catalog_and_the_private_link_opens_the_confirmed_order(
    page, new_context, watch, catalog, final_screenshot
):
    final_screenshot(page, "guest-checkout-confirmation")
    shopper.open_catalog(page)
    shopper.add_to_cart_from_grid(page, "Laptop", expected_count=1)

    shopper.open_cart(page)
    shopper.change_quantity(page, "LAP-001", "Laptop", 2)
    expect(page.get_by_test_id("cart-subtotal")).to_have_text("2000.00 USD")

    shopper.go_to_checkout(page)
    shopper.fill_guest_details(page)
    shopper.fill_shipping_and_payment(page, card="4242424242424242")
    shopper.place_order_button(page).click()

    expect(page).to_have_url(re.compile(r"/orders/[0-9a-f]{64}/$"))
    number = shopper.order_number_on_page(page)
    shopper.expect_status(page, "Confirmed")
    expect(page.locator("#messages")).to_contain_text(f"Thank you! Order {number} is paid.")
    expect(page.get_by_test_id("order-total")).to_have_text("2000.00 USD")
    private_link = page.get_by_test_id("private-link")
    expect(private_link).to_have_attribute("href", page.url)
    expect(private_link).to_have_text(page.url)
    expect(page.get_by_test_id("cart-count")).to_have_text("0")

    # Someone else's browser (no session, no cookies) holding only the link sees the same order.
    stranger = watch.attach(new_context().new_page())
    final_screenshot(stranger, "guest-checkout-private-link")
    stranger.goto(private_link.get_attribute("href"))
    assert shopper.order_number_on_page(stranger) == number
    shopper.expect_status(stranger, "Confirmed")
    expect(stranger.get_by_test_id("order-total")).to_have_text("2000.00 USD")

    order = Order.objects.get()
    assert (order.number, order.status, order.total) == (number, Order.Status.CONFIRMED, 2000)
    assert order.customer.email == shopper.GUEST["email"]
    assert [(item.product_sku, item.quantity) for item in order.items.all()] == [("LAP-001", 2)]
    assert list(Payment.objects.values_list("status", flat=True)) == [Payment.Status.COMPLETED]
    assert SandboxTransaction.objects.filter(kind=SandboxTransaction.Kind.CHARGE, succeeded=True).count() == 1
    catalog["laptop"].refresh_from_db()
    assert catalog["laptop"].stock == 8
    watch.assert_clean()


def test_declined_card_leaves_the_order_failed_and_a_retry_with_another_card_confirms_it_with_one_charge(
    page, watch, catalog, final_screenshot
):
    final_screenshot(page, "declined-then-retry-confirmed")
    shopper.checkout_with(page, "Laptop")
    shopper.fill_guest_details(page)
    shopper.fill_shipping_and_payment(page, card="tok_decline")
    shopper.place_order_button(page).click()

    expect(page).to_have_url(re.compile(r"/orders/[0-9a-f]{64}/$"))
    number = shopper.order_number_on_page(page)
    shopper.expect_status(page, "Failed")
    expect(page.locator("#messages")).to_contain_text("The payment was declined: Your card was declined.")
    expect(shopper.history(page)).to_contain_text("Payment failed: Your card was declined.")
    order_url = page.url

    expect(page.get_by_role("heading", name="Try another card")).to_be_visible()
    page.get_by_label("Card number or test token").fill("tok_visa")
    page.get_by_test_id("pay").click()

    expect(page).to_have_url(order_url)
    shopper.expect_status(page, "Confirmed")
    expect(page.locator("#messages")).to_contain_text(f"Thank you! Order {number} is paid.")
    expect(shopper.history(page)).to_contain_text("Payment of 1000.00 USD captured.")
    expect(page.get_by_test_id("pay")).to_have_count(0)

    order = Order.objects.get()
    assert (order.number, order.status) == (number, Order.Status.CONFIRMED)
    attempts = order.payments.order_by("created_at", "pk")
    assert [payment.status for payment in attempts] == [Payment.Status.FAILED, Payment.Status.COMPLETED]
    charges = SandboxTransaction.objects.filter(kind=SandboxTransaction.Kind.CHARGE)
    assert [(charge.succeeded, charge.decline_code) for charge in charges] == [(False, "card_declined"), (True, "")]
    watch.assert_clean()


@pytest.fixture
def slow_gateway(settings):
    """The payment provider takes half a second to answer, like a real one: a second click lands while the
    first submission is still being paid."""
    settings.PAYMENT_GATEWAYS = {
        name: {**config, "OPTIONS": {**config.get("OPTIONS", {}), "latency_ms": 500}}
        for name, config in settings.PAYMENT_GATEWAYS.items()
    }


@pytest.fixture
def server_requests():
    """(method, path) of every request the live server started, in order."""
    started = []

    def record(sender, environ, **kwargs):
        started.append((environ["REQUEST_METHOD"], environ["PATH_INFO"]))

    request_started.connect(record, weak=False)
    yield started
    request_started.disconnect(record)


def test_double_click_on_place_order_places_one_order_with_one_charge_and_ends_on_its_page(
    page, watch, catalog, final_screenshot, slow_gateway, server_requests
):
    final_screenshot(page, "double-click-one-order")
    shopper.checkout_with(page, "Laptop")
    shopper.fill_guest_details(page)
    shopper.fill_shipping_and_payment(page, card="tok_visa")
    button = shopper.place_order_button(page)
    # A double click with the mouse, its second click landing once the first submission is on its way (an
    # instant `dblclick()` is sometimes merged into one submission by Chromium). The browser abandons the
    # first request for the second, but the server carries out both.
    box = button.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    watch.ignore(r"^request failed: POST \S+/checkout/ \(net::ERR_ABORTED\)$")
    with page.expect_request(lambda request: request.method == "POST" and request.url.endswith("/checkout/")):
        page.mouse.click(x, y)
    page.mouse.click(x, y, click_count=2)

    expect(page).to_have_url(re.compile(r"/orders/[0-9a-f]{64}/$"))
    number = shopper.order_number_on_page(page)
    # The second submission may be answered while the first is still paying ("Processing"); the order page
    # does not update itself, so look again until the payment is settled.
    shopper.expect_status_after_reloads(page, "Confirmed")

    assert server_requests.count(("POST", "/checkout/")) == 2, server_requests
    order = Order.objects.get()
    assert (order.number, order.status) == (number, Order.Status.CONFIRMED)
    assert list(Payment.objects.values_list("status", flat=True)) == [Payment.Status.COMPLETED]
    assert SandboxTransaction.objects.filter(kind=SandboxTransaction.Kind.CHARGE).count() == 1
    catalog["laptop"].refresh_from_db()
    assert catalog["laptop"].stock == 9
    watch.assert_clean()


# Builds the checkout form again from the values it was sent with, and sends it.
RESEND_FORM = """entries => {
  const form = document.createElement('form');
  form.method = 'post';
  form.action = '/checkout/';
  for (const [name, value] of entries) {
    const input = document.createElement('input');
    input.type = 'hidden';
    input.name = name;
    input.value = value;
    form.append(input);
  }
  document.body.append(form);
  form.submit();
}"""


def test_checkout_form_sent_again_after_its_order_was_placed_leads_to_that_order_not_an_empty_cart(
    page, watch, catalog, final_screenshot
):
    final_screenshot(page, "checkout-sent-again")
    shopper.checkout_with(page, "Laptop")
    shopper.fill_guest_details(page)
    shopper.fill_shipping_and_payment(page, card="tok_visa")
    sent = page.evaluate("() => [...new FormData(document.querySelector('[data-testid=checkout-form]'))]")
    shopper.place_order_button(page).click()
    expect(page).to_have_url(re.compile(r"/orders/[0-9a-f]{64}/$"))
    order_url = page.url
    number = shopper.order_number_on_page(page)

    # The same form once more, after the first was answered: a second click that lands as the answer is
    # on its way back, or Back and "send again". Its checkout key names the order already placed.
    with page.expect_navigation():
        page.evaluate(RESEND_FORM, sent)

    expect(page).to_have_url(order_url)
    assert shopper.order_number_on_page(page) == number
    shopper.expect_status(page, "Confirmed")
    assert Order.objects.count() == 1
    assert SandboxTransaction.objects.filter(kind=SandboxTransaction.Kind.CHARGE).count() == 1
    watch.assert_clean()
