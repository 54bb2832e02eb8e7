"""A shopper who signs up orders from their account, finds the order under "My orders" and cancels it."""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from shop.models import Order, Refund, SandboxTransaction
from tests.e2e import shopper

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EMAIL = "grace@example.com"
PASSWORD = "a long and unusual passphrase 42"
REASON = "Ordered the wrong size"


def test_signed_up_customer_orders_sees_the_order_in_my_orders_and_cancels_it_with_a_reason(
    page, watch, catalog, final_screenshot
):
    final_screenshot(page, "customer-cancelled-order")
    page.goto("/accounts/signup/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label(re.compile(r"^\s*Password\W*$")).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("navigation", name="Main")).to_contain_text(EMAIL)
    expect(page.get_by_role("link", name="My orders")).to_be_visible()

    shopper.checkout_with(page, "Mouse")
    expect(page.get_by_label("Email")).to_have_count(0)  # an account orders under its own profile
    shopper.fill_shipping_and_payment(page, card="tok_visa")
    shopper.place_order_button(page).click()

    expect(page).to_have_url(re.compile(r"/account/orders/ORD-[0-9A-Z]+/$"))
    number = shopper.order_number_on_page(page)
    shopper.expect_status(page, "Confirmed")
    expect(page.get_by_test_id("private-link")).to_have_count(0)

    page.get_by_role("link", name="My orders").click()
    expect(page.get_by_role("heading", name="My orders", level=1)).to_be_visible()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=number))
    expect(row).to_contain_text("Confirmed")
    expect(row).to_contain_text("25.00 USD")
    row.get_by_role("link", name=number).click()

    expect(page).to_have_url(re.compile(rf"/account/orders/{number}/$"))
    page.get_by_label("Reason (optional)").fill(REASON)
    page.get_by_test_id("cancel").click()

    shopper.expect_status(page, "Cancelled")
    expect(page.locator("#messages")).to_contain_text(f"Order {number} is cancelled.")
    expect(page.get_by_test_id("cancel")).to_have_count(0)

    page.get_by_role("link", name="My orders").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=number))
    expect(row).to_contain_text("Cancelled")
    row.get_by_role("link", name=number).click()
    shopper.expect_status(page, "Cancelled")
    expect(shopper.history(page)).to_contain_text(f"Order cancelled; refunded 25.00 USD: {REASON}")

    user = get_user_model().objects.get(email=EMAIL)
    order = Order.objects.get()
    assert (order.number, order.status, order.customer.user) == (number, Order.Status.CANCELLED, user)
    assert list(Refund.objects.values_list("status", "amount", "reason")) == [(Refund.Status.SUCCEEDED, 25, REASON)]
    assert SandboxTransaction.objects.filter(kind=SandboxTransaction.Kind.CHARGE, succeeded=True).count() == 1
    catalog["mouse"].refresh_from_db()
    assert catalog["mouse"].stock == 100  # the cancelled order's mouse is back on the shelf
    watch.assert_clean()
