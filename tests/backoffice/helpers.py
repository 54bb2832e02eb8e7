"""Helpers for the back office's view tests: a small HTML tree to look inside pages, the messages a page shows,
and a snapshot of everything an action could change (to prove that a refused action changed nothing)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

from shop.models import (
    Order,
    OrderEvent,
    Payment,
    Product,
    Refund,
    SandboxTransaction,
    StockAdjustment,
)

HTMX = {"HX-Request": "true"}
HTMX_BOOSTED = {"HX-Request": "true", "HX-Boosted": "true"}

VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


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
        parts = [child if isinstance(child, str) else child.text for child in self.children]
        return " ".join(" ".join(parts).split())

    def iter(self):
        for child in self.children:
            if isinstance(child, Element):
                yield child
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs) -> list[Element]:
        """Descendants with `tag` (any when None) whose attributes equal `attrs` (`data_testid` is `data-testid`;
        `class_` matches one of the classes)."""
        wanted = {name.rstrip("_").replace("_", "-"): value for name, value in attrs.items()}
        found = []
        for element in self.iter():
            if tag is not None and element.tag != tag:
                continue
            if all(_attr_matches(element, name, value) for name, value in wanted.items()):
                found.append(element)
        return found

    def find(self, tag: str | None = None, **attrs) -> Element | None:
        found = self.find_all(tag, **attrs)
        return found[0] if found else None

    def one(self, tag: str | None = None, **attrs) -> Element:
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, f"expected exactly one {tag or 'element'} {attrs}, found {len(found)}"
        return found[0]

    def by_id(self, element_id: str) -> Element:
        return self.one(id=element_id)

    def by_testid(self, testid: str) -> Element:
        return self.one(data_testid=testid)


def _attr_matches(element: Element, name: str, value: str) -> bool:
    if name == "class":
        return value in element.attrs.get("class", "").split()
    return element.attrs.get(name) == value


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        element = Element(tag, {name: value or "" for name, value in attrs}, parent=self.current)
        self.current.children.append(element)
        if tag not in VOID_ELEMENTS:
            self.current = element

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Element(tag, {name: value or "" for name, value in attrs}, parent=self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def page(response) -> Element:
    """The response's HTML as a tree."""
    builder = _TreeBuilder()
    builder.feed(response.content.decode())
    builder.close()
    return builder.root


def alerts(response) -> list[tuple[str, str]]:
    """The messages the page shows, as (level, text): level is success, info, warning or danger."""
    box = page(response).find(id="messages")
    if box is None:
        return []
    shown = []
    for alert in box.find_all("div", role="alert"):
        level = next(name[len("alert-") :] for name in alert.attrs["class"].split() if name.startswith("alert-"))
        shown.append((level, alert.text))
    return shown


def form_values(response, action: str) -> dict[str, str]:
    """The names and values of the inputs of the form posting to `action` on the page."""
    form = page(response).one("form", action=action)
    values = {}
    for element in form.iter():
        name = element.attrs.get("name")
        if name and element.tag in ("input", "textarea", "select"):
            if element.attrs.get("type") == "checkbox" and "checked" not in element.attrs:
                continue
            values[name] = element.attrs.get("value", "")
    return values


def table_rows(element: Element) -> list[list[str]]:
    """The text of the cells of each body row of the table(s) inside `element`."""
    return [[cell.text for cell in row.find_all() if cell.tag in ("td", "th")] for row in _body_rows(element)]


def _body_rows(element: Element) -> list[Element]:
    rows = []
    for body in element.find_all("tbody"):
        rows.extend(row for row in body.children if isinstance(row, Element) and row.tag == "tr")
    return rows


def head_title(response) -> str:
    head = page(response).one("head")
    return head.one("title").text


def everything() -> dict:
    """Every row an order or catalog action could touch: equal before and after means nothing changed."""
    return {
        "orders": list(Order.objects.order_by("pk").values_list("pk", "status", "version", "refunded_amount")),
        "payments": list(
            Payment.objects.order_by("pk").values_list("pk", "status", "refunded_amount", "gateway_transaction_id")
        ),
        "refunds": list(Refund.objects.order_by("pk").values_list("pk", "status", "amount")),
        "events": OrderEvent.objects.count(),
        "gateway": SandboxTransaction.objects.count(),
        "products": list(Product.objects.order_by("pk").values_list("pk", "price", "stock", "is_active")),
        "stock_adjustments": StockAdjustment.objects.count(),
    }
