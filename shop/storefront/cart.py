"""The shopping cart, kept in the session: per SKU the quantity and the price and name the shopper was shown.

The catalog stays the truth: the order service compares what the shopper saw with the catalog and refuses a
difference, so a price that changed since the cart was filled is explained instead of silently charged.
"""

from dataclasses import dataclass
from decimal import Decimal

from shop.models import Product
from shop.selectors.catalog import products_by_sku
from shop.services import OrderLine

SESSION_KEY = "cart"
MAX_QUANTITY_PER_LINE = 99


@dataclass(frozen=True)
class CartLine:
    product: Product
    quantity: int
    seen_price: Decimal | None = None
    seen_name: str | None = None

    @property
    def line_total(self) -> Decimal:
        return self.product.price * self.quantity

    @property
    def available(self) -> bool:
        return self.product.is_active and self.product.stock >= self.quantity


@dataclass(frozen=True)
class CartContents:
    lines: list[CartLine]

    @property
    def subtotal(self) -> Decimal:
        return sum((line.line_total for line in self.lines), Decimal("0.00"))

    @property
    def count(self) -> int:
        return sum(line.quantity for line in self.lines)

    def order_lines(self) -> list[OrderLine]:
        """What the shopper saw, so the order service can refuse a price or name that changed since."""
        return [
            OrderLine(
                sku=line.product.sku,
                quantity=line.quantity,
                expected_unit_price=line.seen_price,
                expected_name=line.seen_name,
            )
            for line in self.lines
        ]


class Cart:
    def __init__(self, session):
        self.session = session
        self.lines: dict[str, dict] = {
            sku: entry if isinstance(entry, dict) else {"quantity": entry}
            for sku, entry in session.get(SESSION_KEY, {}).items()
        }

    def __len__(self) -> int:
        return sum(entry["quantity"] for entry in self.lines.values())

    def quantity_of(self, sku: str) -> int:
        return self.lines.get(sku, {}).get("quantity", 0)

    def add(self, product: Product, quantity: int) -> None:
        self.set(product, self.quantity_of(product.sku) + quantity)

    def set(self, product: Product, quantity: int) -> None:
        """Set the quantity (0 removes the line) and remember the price and name shown now."""
        quantity = min(max(quantity, 0), MAX_QUANTITY_PER_LINE)
        if quantity:
            self.lines[product.sku] = {"quantity": quantity, "price": str(product.price), "name": product.name}
        else:
            self.lines.pop(product.sku, None)
        self._save()

    def remove(self, sku: str) -> None:
        self.lines.pop(sku, None)
        self._save()

    def clear(self) -> None:
        self.lines = {}
        self._save()

    def contents(self) -> CartContents:
        """The lines with their products, in one query; products gone from the catalog leave the cart."""
        products = products_by_sku(self.lines)
        gone = [sku for sku in self.lines if sku not in products]
        for sku in gone:
            del self.lines[sku]
        if gone:
            self._save()
        return CartContents(
            [
                CartLine(
                    products[sku],
                    entry["quantity"],
                    seen_price=Decimal(entry["price"]) if "price" in entry else None,
                    seen_name=entry.get("name"),
                )
                for sku, entry in self.lines.items()
            ]
        )

    def accept_catalog(self) -> None:
        """Take the catalog's current prices and names as shown: after the shopper was told they changed."""
        for line in self.contents().lines:
            self.set(line.product, line.quantity)

    def _save(self) -> None:
        self.session[SESSION_KEY] = self.lines
        self.session.modified = True
