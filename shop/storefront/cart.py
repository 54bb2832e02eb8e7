"""The shopping cart: SKUs and quantities in the session. Prices and stock always come from the catalog."""

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

    @property
    def all_available(self) -> bool:
        return all(line.available for line in self.lines)

    def order_lines(self) -> list[OrderLine]:
        """What the shopper saw, so the order service can refuse a price that changed since."""
        return [
            OrderLine(
                sku=line.product.sku,
                quantity=line.quantity,
                expected_unit_price=line.product.price,
                expected_name=line.product.name,
            )
            for line in self.lines
        ]


class Cart:
    def __init__(self, session):
        self.session = session
        self.quantities: dict[str, int] = dict(session.get(SESSION_KEY, {}))

    def __len__(self) -> int:
        return sum(self.quantities.values())

    def quantity_of(self, sku: str) -> int:
        return self.quantities.get(sku, 0)

    def set(self, sku: str, quantity: int) -> None:
        quantity = min(max(quantity, 0), MAX_QUANTITY_PER_LINE)
        if quantity:
            self.quantities[sku] = quantity
        else:
            self.quantities.pop(sku, None)
        self._save()

    def add(self, sku: str, quantity: int) -> None:
        self.set(sku, self.quantity_of(sku) + quantity)

    def clear(self) -> None:
        self.quantities = {}
        self._save()

    def contents(self) -> CartContents:
        """The lines with their products, in one query; products no longer in the catalog drop out."""
        products = products_by_sku(self.quantities)
        lines = [CartLine(products[sku], quantity) for sku, quantity in self.quantities.items() if sku in products]
        return CartContents(lines)

    def _save(self) -> None:
        self.session[SESSION_KEY] = self.quantities
        self.session.modified = True
