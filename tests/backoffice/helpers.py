"""Helpers for the back office's view tests: its pages as trees (see `tests.html`), the messages a page shows,
and a snapshot of everything an action could change (to prove that a refused action changed nothing)."""

from __future__ import annotations

from shop.models import (
    Order,
    OrderEvent,
    Payment,
    Product,
    Refund,
    SandboxTransaction,
    StockAdjustment,
)
from tests.html import HTMX as HTMX
from tests.html import HTMX_BOOSTED as HTMX_BOOSTED
from tests.html import Element, parse


class StrictElement(Element):
    """On a back office page an id or a test id names exactly one element: looking one up asserts so."""

    def by_id(self, element_id: str) -> Element:
        return self.one(id=element_id)

    def by_testid(self, testid: str) -> Element:
        return self.one(data_testid=testid)


def page(response) -> StrictElement:
    """The response's HTML as a tree."""
    return parse(response.content, StrictElement)


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
