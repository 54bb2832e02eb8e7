"""The dashboard: today's, the week's and the month's figures, the 30-day SVG chart, payments stuck in processing
and unpaid orders about to expire."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from shop.models import Order, Payment, Refund
from shop.services import Actor, process_payment, refund_order
from tests.backoffice.helpers import page
from tests.factories import ProductFactory, place_order

pytestmark = pytest.mark.django_db

DASHBOARD = "/backoffice/"


def test_the_dashboard_is_the_back_office_home():
    assert reverse("backoffice:dashboard") == DASHBOARD


def open_dashboard(client):
    response = client.get(DASHBOARD)
    assert response.status_code == 200
    return response


def figures(response) -> dict[str, dict[str, str]]:
    """Each period card as {label: {"Orders": ..., "Revenue": ..., "Refunds": ..., "Failed payments": ...}}."""
    cards = {}
    for number in (1, 2, 3):
        card = page(response).one("section", aria_labelledby=f"period-{number}")
        terms = [term.text for term in card.find_all("dt")]
        values = [value.text for value in card.find_all("dd")]
        cards[card.one("h2").text] = dict(zip(terms, values, strict=True))
    return cards


@pytest.fixture
def product(db):
    return ProductFactory(price=Decimal("100.00"), stock=1000)


@pytest.fixture
def history(product):
    """Orders, payments and refunds at known times (prices: 100.00 a unit, no shipping).

    today:        A paid 100; B declined; C paid 200 and 50 refunded; H placed, unpaid; G's refund of 100
    3 days ago:   D paid 300 and 30 refunded
    20 days ago:  E paid 400; F declined
    40 days ago:  G paid 500 (refunded 100 today)
    """
    system = Actor.system("tests")
    now = timezone.now()

    def order(quantity, token=None):
        placed = place_order({product: quantity})
        if token:
            process_payment(order_id=placed.pk, actor=system, token=token)
        return placed

    def backdate(placed, days):
        when = now - timedelta(days=days)
        Order.objects.filter(pk=placed.pk).update(created_at=when)
        Payment.objects.filter(order=placed, processed_at__isnull=False).update(processed_at=when)
        Refund.objects.filter(payment__order=placed).update(processed_at=when)

    order(1, "tok_visa")  # A
    order(1, "tok_decline")  # B
    c = order(2, "tok_visa")
    refund_order(order_id=c.pk, actor=system, amount="50.00")
    order(1)  # H
    d = order(3, "tok_visa")
    refund_order(order_id=d.pk, actor=system, amount="30.00")
    backdate(d, 3)
    backdate(order(4, "tok_visa"), 20)  # E
    backdate(order(1, "tok_decline"), 20)  # F
    g = order(5, "tok_visa")
    backdate(g, 40)
    refund_order(order_id=g.pk, actor=system, amount="100.00")
    return now


def test_the_figures_for_today_the_last_7_and_30_days_count_orders_money_and_failures(support_client, history):
    response = open_dashboard(support_client)

    assert figures(response) == {
        "Today": {"Orders": "4", "Revenue": "300.00", "Refunds": "150.00", "Failed payments": "1"},
        "Last 7 days": {"Orders": "5", "Revenue": "600.00", "Refunds": "180.00", "Failed payments": "1"},
        "Last 30 days": {"Orders": "7", "Revenue": "1000.00", "Refunds": "180.00", "Failed payments": "2"},
    }


def test_an_empty_shop_shows_zero_figures_and_empty_lists(support_client, db):
    response = open_dashboard(support_client)

    zero = {"Orders": "0", "Revenue": "0.00", "Refunds": "0.00", "Failed payments": "0"}
    assert figures(response) == {"Today": zero, "Last 7 days": zero, "Last 30 days": zero}
    for heading in ("stuck-heading", "expiring-heading"):
        assert page(response).one("section", aria_labelledby=heading).find("li") is None
        assert "None." in page(response).one("section", aria_labelledby=heading).text


def _charts(response):
    section = page(response).one("section", aria_labelledby="chart-heading")
    orders_chart, revenue_chart = section.find_all("svg")
    return orders_chart, revenue_chart


def _bars(chart) -> list[tuple[str, float]]:
    return [(bar.one("title").text, float(bar.attrs["height"])) for bar in chart.find_all("rect")]


def test_the_chart_draws_30_days_of_orders_and_revenue_as_svg_bars(support_client, history):
    response = open_dashboard(support_client)

    orders_chart, revenue_chart = _charts(response)
    order_bars, revenue_bars = _bars(orders_chart), _bars(revenue_chart)
    assert (len(order_bars), len(revenue_bars)) == (30, 30)
    today = timezone.localdate(history)
    days = [f"{today - timedelta(days=29 - index):%b %d}" for index in range(30)]
    assert [label.split(":")[0] for label, _height in order_bars] == days
    # Today has the most orders (4): the full height; 3 days ago one order; 20 days ago two.
    assert order_bars[29] == (f"{days[29]}: 4 orders", 150.0)
    assert order_bars[26] == (f"{days[26]}: 1 orders", 37.5)
    assert order_bars[9] == (f"{days[9]}: 2 orders", 75.0)
    assert {height for index, (_label, height) in enumerate(order_bars) if index not in (9, 26, 29)} == {0.0}
    # Revenue: 300 today and 3 days ago, 400 (the most) 20 days ago.
    assert revenue_bars[9] == (f"{days[9]}: 400.00 revenue", 150.0)
    assert revenue_bars[26] == (f"{days[26]}: 300.00 revenue", 112.5)
    assert revenue_bars[29] == (f"{days[29]}: 300.00 revenue", 112.5)
    assert orders_chart.attrs["viewbox"] == "0 0 720 160"  # (the parser lowercases attribute names)
    assert (
        orders_chart.one("title", id="orders-chart-title").text == f"Orders per day, {days[0]} to {days[29]}, at most 4"
    )


def test_the_chart_bars_stay_inside_the_drawing(support_client, history):
    orders_chart, revenue_chart = _charts(open_dashboard(support_client))

    for chart in (orders_chart, revenue_chart):
        for bar in chart.find_all("rect"):
            x, y = float(bar.attrs["x"]), float(bar.attrs["y"])
            width, height = float(bar.attrs["width"]), float(bar.attrs["height"])
            assert x >= 0 and x + width <= 720
            assert y >= 0 and y + height == pytest.approx(160)


def test_a_payment_processing_longer_than_reconciliation_waits_is_listed_as_stuck(support_client, product):
    system = Actor.system("tests")
    stuck = place_order({product: 1})
    process_payment(order_id=stuck.pk, actor=system, token="tok_timeout")
    recent = place_order({product: 2})
    process_payment(order_id=recent.pk, actor=system, token="tok_timeout")
    assert Payment.objects.filter(status=Payment.Status.PROCESSING).count() == 2
    long_ago = timezone.now() - timedelta(seconds=settings.PAYMENT_RECONCILE_AFTER_SECONDS + 60)
    Payment.objects.filter(order=stuck).update(processing_started_at=long_ago)

    response = open_dashboard(support_client)

    section = page(response).one("section", aria_labelledby="stuck-heading")
    items = section.find_all("li")
    assert len(items) == 1
    assert items[0].one("a").text == stuck.number
    assert items[0].one("a").attrs["href"] == reverse("backoffice:order", args=[stuck.number])
    assert "100.00" in items[0].text
    assert recent.number not in section.text


def test_a_payment_processing_for_less_than_the_reconciliation_delay_is_not_stuck(support_client, product):
    order = place_order({product: 1})
    process_payment(order_id=order.pk, actor=Actor.system("tests"), token="tok_timeout")
    just_inside = timezone.now() - timedelta(seconds=settings.PAYMENT_RECONCILE_AFTER_SECONDS - 30)
    Payment.objects.filter(order=order).update(processing_started_at=just_inside)

    response = open_dashboard(support_client)

    assert order.number not in page(response).one("section", aria_labelledby="stuck-heading").text


def test_an_unpaid_order_within_ten_minutes_of_expiry_is_listed_as_about_to_expire(support_client, product):
    ttl = timedelta(minutes=settings.UNPAID_ORDER_TTL_MINUTES)
    now = timezone.now()
    expiring = place_order({product: 1}, email="soon@example.com")
    not_yet = place_order({product: 1}, email="later@example.com")
    failed = place_order({product: 1}, email="failed@example.com")
    process_payment(order_id=failed.pk, actor=Actor.system("tests"), token="tok_decline")
    paid = place_order({product: 1}, email="paid@example.com")
    process_payment(order_id=paid.pk, actor=Actor.system("tests"), token="tok_visa")
    Order.objects.filter(pk__in=[expiring.pk, failed.pk, paid.pk]).update(created_at=now - ttl + timedelta(minutes=5))
    Order.objects.filter(pk=not_yet.pk).update(created_at=now - ttl + timedelta(minutes=15))

    response = open_dashboard(support_client)

    section = page(response).one("section", aria_labelledby="expiring-heading")
    listed = [item.one("a").text for item in section.find_all("li")]
    assert listed == [expiring.number, failed.number] or listed == [failed.number, expiring.number]
    assert "soon@example.com" in section.text
    assert not_yet.number not in section.text and paid.number not in section.text


def test_the_dashboard_runs_the_same_queries_whatever_the_amount_of_data(support_client, product):
    system = Actor.system("tests")

    def some_orders():
        for token in ("tok_visa", "tok_decline", "tok_timeout", None):
            placed = place_order({product: 1})
            if token:
                process_payment(order_id=placed.pk, actor=system, token=token)
        Order.objects.update(created_at=timezone.now() - timedelta(minutes=settings.UNPAID_ORDER_TTL_MINUTES - 5))
        Payment.objects.filter(status="PROCESSING").update(processing_started_at=timezone.now() - timedelta(days=1))

    some_orders()
    with CaptureQueriesContext(connection) as small:
        open_dashboard(support_client)
    for _ in range(5):
        some_orders()
    with CaptureQueriesContext(connection) as large:
        response = open_dashboard(support_client)

    assert len(page(response).one("section", aria_labelledby="stuck-heading").find_all("li")) == 6
    assert len(small) == len(large), "\n".join(query["sql"] for query in large.captured_queries)
