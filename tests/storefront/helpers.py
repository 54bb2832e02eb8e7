"""Helpers for the storefront's view tests: its pages as trees (see `tests.html`), and shoppers' steps.

On these pages `by_id` and `by_testid` give None where nothing matches: a test may check that an element is gone.
"""

from __future__ import annotations

from django.urls import reverse

from tests.html import HTMX as HTMX
from tests.html import HTMX_BOOSTED as HTMX_BOOSTED
from tests.html import Element, page


def messages_in(response_or_tree) -> list[str]:
    """The texts of the flash messages shown in #messages."""
    tree = response_or_tree if isinstance(response_or_tree, Element) else page(response_or_tree)
    box = tree.by_id("messages")
    if box is None:
        return []
    return [alert.text for alert in box.find_all(role="alert")]


def is_whole_page(response) -> bool:
    content = response.content.decode()
    return content.lstrip().lower().startswith("<!doctype html") and "<html" in content and "navbar" in content


def is_fragment(response) -> bool:
    content = response.content.decode().lower()
    return "<html" not in content and "<!doctype" not in content and "navbar" not in content and "<body" not in content


def cart_count(tree: Element) -> str:
    badge = tree.by_id("cart-badge")
    assert badge is not None, "no cart badge"
    return badge.by_testid("cart-count").text


# --- Accessibility basics ---------------------------------------------------------------------


def _unlabelled_fields(tree) -> list[str]:
    labelled_ids = {label.attrs.get("for") for label in tree.find_all("label")}
    missing = []
    for control in tree.find_all():
        if control.tag not in ("input", "select", "textarea"):
            continue
        if control.attrs.get("type") in ("hidden", "submit", "button", "image", "reset"):
            continue
        if control.attrs.get("aria-label") or control.attrs.get("aria-labelledby"):
            continue
        if control.attrs.get("id") and control.attrs["id"] in labelled_ids:
            continue
        if any(ancestor.tag == "label" for ancestor in control.ancestors()):
            continue
        missing.append(control.attrs.get("name") or repr(control))
    return missing


def assert_accessible_page(response):
    """A <title> naming the page, exactly one non-empty <h1>, and a label for every field."""
    tree = page(response)
    title = tree.find("title")
    assert title is not None and title.text.strip(" ·") not in ("", "Shop"), f"no page title: {title}"
    headings = tree.find_all("h1")
    assert len(headings) == 1 and headings[0].text, f"expected one non-empty <h1>, found {headings}"
    assert _unlabelled_fields(tree) == []


# --- Shoppers' steps --------------------------------------------------------------------------


def add_to_cart(client, product, quantity: int = 1):
    """Add without htmx and open the page it leads to, so its flash message is shown (and gone) already."""
    response = client.post(reverse("storefront:cart-add", args=[product.sku]), {"quantity": quantity}, follow=True)
    assert [status for _, status in response.redirect_chain] == [302], response.content
    assert session_cart(client).get(product.sku, 0) >= quantity, messages_in(response)
    return response


def session_cart(client) -> dict[str, int]:
    """SKU -> quantity, as the session keeps them (each line also remembers the price and name shown)."""
    return {sku: line["quantity"] for sku, line in client.session.get("cart", {}).items()}


def checkout_key(client) -> str:
    """The one-time key in the checkout form the page hands out."""
    response = client.get(reverse("storefront:checkout"))
    assert response.status_code == 200, response
    return page(response).find("input", name="checkout_key").attrs["value"]


GUEST_CONTACT = {
    "email": "ann@example.com",
    "name": "Ann Buyer",
    "phone": "998901112233",
}


def checkout_form(client, *, signed_in: bool = False, key: str | None = None, **overrides) -> dict[str, str]:
    """A filled checkout form with the one-time key the checkout page handed out."""
    data = {
        "checkout_key": key or checkout_key(client),
        "shipping_address": "1 Test Street\nTashkent",
        "payment_method": "CREDIT_CARD",
        "card": "tok_visa",
    }
    if not signed_in:
        data.update(GUEST_CONTACT)
    data.update(overrides)
    return data
