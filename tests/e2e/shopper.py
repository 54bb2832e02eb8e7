"""What a shopper does in the storefront, step by step, shared by the browser tests."""

import re

from playwright.sync_api import Page, expect

GUEST = {
    "email": "ada@example.com",
    "name": "Ada Lovelace",
    "phone": "+998 90 123 45 67",
    "address": "12 Amir Temur St\nTashkent 100000",
}
ORDER_HEADING = re.compile(r"^Order (\S+)$")


def open_catalog(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Catalog", level=1)).to_be_visible()
    assert_assets_loaded(page)


def assert_assets_loaded(page: Page) -> None:
    """htmx and Bootstrap came from the live server's static files (the page would work without them, only worse)."""
    page.wait_for_function("() => window.htmx !== undefined && window.bootstrap !== undefined")
    styled = page.evaluate(
        "() => [...document.styleSheets].some(sheet => sheet.href && sheet.href.includes('bootstrap')"
        " && sheet.cssRules.length > 100)"
    )
    assert styled, "Bootstrap's stylesheet did not load"


def mark_document(page: Page) -> None:
    """Tag the current document, so `assert_same_document` proves no page load happened since."""
    page.evaluate("() => { window.__e2eDocument = true; }")


def assert_same_document(page: Page) -> None:
    assert page.evaluate("() => window.__e2eDocument === true"), "the page was reloaded"


def add_to_cart_from_grid(page: Page, product_name: str, expected_count: int) -> None:
    """The grid's add button posts through htmx: the badge changes in place, the page stays."""
    url = page.url
    mark_document(page)
    page.get_by_role("button", name=f"Add {product_name} to cart").click()
    expect(page.get_by_test_id("cart-count")).to_have_text(str(expected_count))
    expect(page.locator("#messages")).to_contain_text(f"{product_name} added to your cart.")
    assert page.url == url
    assert_same_document(page)


def open_cart(page: Page) -> None:
    page.locator("#cart-badge").click()
    expect(page).to_have_url(re.compile(r"/cart/$"))
    expect(page.get_by_role("heading", name="Your cart", level=1)).to_be_visible()


def change_quantity(page: Page, sku: str, product_name: str, quantity: int) -> None:
    """The cart's quantity form posts through htmx: the cart body and the badge change in place."""
    mark_document(page)
    line = page.get_by_test_id(f"cart-line-{sku}")
    line.get_by_label(f"Quantity of {product_name}").fill(str(quantity))
    line.get_by_role("button", name="Update").click()
    expect(page.locator("#messages")).to_contain_text("Your cart was updated.")
    expect(page.get_by_test_id(f"cart-line-{sku}").get_by_label(f"Quantity of {product_name}")).to_have_value(
        str(quantity)
    )
    expect(page.get_by_test_id("cart-count")).to_have_text(str(quantity))
    assert_same_document(page)


def go_to_checkout(page: Page) -> None:
    page.get_by_role("link", name="Checkout", exact=True).click()
    expect(page).to_have_url(re.compile(r"/checkout/$"))
    expect(page.get_by_role("heading", name="Checkout", level=1)).to_be_visible()


def fill_guest_details(page: Page, guest: dict = GUEST) -> None:
    page.get_by_label("Email").fill(guest["email"])
    page.get_by_label("Name").fill(guest["name"])
    page.get_by_label("Phone").fill(guest["phone"])


def fill_shipping_and_payment(page: Page, card: str, method: str = "Credit card", address: str = GUEST["address"]):
    page.get_by_label("Shipping address").fill(address)
    page.get_by_label("Payment method").select_option(label=method)
    page.get_by_label("Card number or test token").fill(card)


def place_order_button(page: Page):
    return page.get_by_test_id("place-order")


def order_number_on_page(page: Page) -> str:
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(ORDER_HEADING)
    return ORDER_HEADING.match(heading.inner_text().strip()).group(1)


def expect_status(page: Page, label: str) -> None:
    expect(page.get_by_test_id("order-status")).to_have_text(label)


def history(page: Page):
    return page.get_by_test_id("timeline")


def checkout_with(page: Page, product_name: str) -> None:
    """From the catalog to the checkout page with one of `product_name` in the cart."""
    open_catalog(page)
    add_to_cart_from_grid(page, product_name, expected_count=1)
    open_cart(page)
    go_to_checkout(page)


def expect_status_after_reloads(page: Page, label: str, attempts: int = 20) -> None:
    """The order page shows `label` now or after a few reloads (it does not poll for the status itself)."""
    status = page.get_by_test_id("order-status")
    for _ in range(attempts):
        if status.inner_text().strip() == label:
            return
        page.wait_for_timeout(250)
        page.reload()
    expect(status).to_have_text(label)
