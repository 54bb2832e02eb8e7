"""Helpers for the storefront's view tests: a small HTML tree to look inside pages, and shoppers' steps.

Pages are checked the way a browser (or htmx) would see them: what element holds what, which element carries
`hx-swap-oob`, which label names which field. The standard library's `html.parser` builds the tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

from django.urls import reverse

HTMX = {"HX-Request": "true"}
HTMX_BOOSTED = {"HX-Request": "true", "HX-Boosted": "true"}

VOID_ELEMENTS = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


# --- A small HTML tree ------------------------------------------------------------------------


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    parent: Element | None = None
    children: list[Element | str] = field(default_factory=list)

    def __repr__(self):
        return f"<{self.tag} {self.attrs}>"

    @property
    def text(self) -> str:
        """The visible text inside, whitespace collapsed."""
        parts = []
        for child in self.children:
            parts.append(child if isinstance(child, str) else child.text)
        return " ".join(" ".join(parts).split())

    def iter(self):
        for child in self.children:
            if isinstance(child, Element):
                yield child
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs) -> list[Element]:
        """Descendants with this tag (any if None) whose attributes equal `attrs` (`class_` contains a class)."""
        wanted_class = attrs.pop("class_", None)
        found = []
        for element in self.iter():
            if tag is not None and element.tag != tag:
                continue
            if any(element.attrs.get(name.replace("_", "-")) != value for name, value in attrs.items()):
                continue
            if wanted_class and wanted_class not in element.attrs.get("class", "").split():
                continue
            found.append(element)
        return found

    def find(self, tag: str | None = None, **attrs) -> Element | None:
        found = self.find_all(tag, **attrs)
        return found[0] if found else None

    def by_id(self, element_id: str) -> Element | None:
        return self.find(id=element_id)

    def by_testid(self, testid: str) -> Element | None:
        return self.find(data_testid=testid)

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def top_level(self) -> list[Element]:
        return [child for child in self.children if isinstance(child, Element)]


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {name: value if value is not None else "" for name, value in attrs}, self.current)
        self.current.children.append(element)
        if tag not in VOID_ELEMENTS:
            self.current = element

    def handle_startendtag(self, tag, attrs):
        element = Element(tag, {name: value if value is not None else "" for name, value in attrs}, self.current)
        self.current.children.append(element)

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        if data.strip():
            self.current.children.append(data)


def parse(html: str | bytes) -> Element:
    if isinstance(html, bytes):
        html = html.decode()
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def page(response) -> Element:
    return parse(response.content)


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
