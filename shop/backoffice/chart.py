"""A bar chart of orders and revenue per day, drawn as SVG on the server: no chart library, no script, and
nothing a Content Security Policy would object to."""

from dataclasses import dataclass
from decimal import Decimal

from shop.selectors.dashboard import Day

WIDTH, HEIGHT, GAP = 720, 160, 2


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    y: float
    height: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    order_bars: list[Bar]
    revenue_bars: list[Bar]
    max_orders: int
    max_revenue: Decimal
    first_day: str
    last_day: str


def bar_chart(days: list[Day]) -> Chart:
    slot = WIDTH / max(len(days), 1)
    max_orders = max((day.orders for day in days), default=0)
    max_revenue = max((day.revenue for day in days), default=Decimal("0"))
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        order_bars=[
            _bar(index, slot, day.orders, max_orders, f"{day.day:%b %d}: {day.orders} orders")
            for index, day in enumerate(days)
        ],
        revenue_bars=[
            _bar(index, slot, day.revenue, max_revenue, f"{day.day:%b %d}: {day.revenue} revenue")
            for index, day in enumerate(days)
        ],
        max_orders=max_orders,
        max_revenue=max_revenue,
        first_day=f"{days[0].day:%b %d}" if days else "",
        last_day=f"{days[-1].day:%b %d}" if days else "",
    )


def _bar(index: int, slot: float, value, maximum, label: str) -> Bar:
    height = float(value) / float(maximum) * (HEIGHT - 10) if maximum else 0.0
    return Bar(
        x=round(index * slot + GAP / 2, 1),
        width=round(slot - GAP, 1),
        y=round(HEIGHT - height, 1),
        height=round(height, 1),
        label=label,
    )
