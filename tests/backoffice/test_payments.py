"""The payments list: every attempt, newest first, filtered by status."""

import pytest
from django.urls import reverse

from shop.models import Payment
from shop.services import Actor, process_payment
from tests.backoffice.helpers import HTMX, page, table_rows
from tests.factories import paid_order, place_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def attempts(mouse):
    """Five attempts: a declined then successful retry, a pending order, a paid one and a declined one."""
    retried = paid_order({mouse: 1}, token="tok_decline")
    process_payment(order_id=retried.pk, actor=Actor.system("tests"), token="tok_visa")
    pending = place_order({mouse: 2})
    paid = paid_order({mouse: 3})
    declined = paid_order({mouse: 4}, token="tok_decline")
    return {"retried": retried, "pending": pending, "paid": paid, "declined": declined}


def rows(response):
    return [row for row in table_rows(page(response).by_id("payment-table")) if len(row) > 1]


def payments(client, **query):
    response = client.get(reverse("backoffice:payments"), query)
    assert response.status_code == 200
    return response


def test_every_payment_attempt_is_listed_newest_first(support_client, attempts):
    shown = rows(payments(support_client))

    expected = Payment.objects.order_by("-created_at", "-pk")
    assert [(row[1], row[2]) for row in shown] == [(payment.order.number, payment.status) for payment in expected]
    assert len(shown) == 5


@pytest.mark.parametrize(
    ("status", "orders"),
    [
        ("FAILED", {"retried", "declined"}),
        ("COMPLETED", {"retried", "paid"}),
        ("PENDING", {"pending"}),
        ("REFUNDED", set()),
    ],
)
def test_the_status_filter_keeps_only_payments_in_that_status(support_client, attempts, status, orders):
    shown = rows(payments(support_client, status=status))

    assert {row[2] for row in shown} <= {status}
    assert {row[1] for row in shown} == {attempts[name].number for name in orders}
    assert len(shown) == Payment.objects.filter(status=status).count()


@pytest.mark.parametrize("status", ["BOGUS", "\x00", "failed"])
def test_an_unknown_status_lists_every_payment_instead_of_an_error(support_client, attempts, status):
    assert len(rows(payments(support_client, status=status))) == 5


def test_each_payment_links_to_its_order(support_client, attempts):
    response = payments(support_client, status="PENDING")

    link = page(response).by_id("payment-table").one("a")
    assert link.attrs["href"] == reverse("backoffice:order", args=[attempts["pending"].number])


def test_an_htmx_filter_gets_only_the_payment_table(support_client, attempts):
    response = support_client.get(reverse("backoffice:payments"), {"status": "FAILED"}, headers=HTMX)

    body = response.content.decode().strip()
    assert "<html" not in body and "<h1" not in body
    assert body.startswith('<section id="payment-table"')
    assert {row[2] for row in rows(response)} == {"FAILED"}


def test_the_payment_pages_keep_the_status_filter(support_client, mouse):
    for _ in range(52):
        place_order({mouse: 1})
    paid_order({mouse: 1})

    first = payments(support_client, status="PENDING")
    next_link = page(first).by_id("payment-table").one("nav").one("a").attrs["href"]
    second = support_client.get(reverse("backoffice:payments") + next_link)

    assert next_link == "?status=PENDING&page=2"
    assert (len(rows(first)), len(rows(second))) == (50, 2)
    assert {row[2] for row in rows(first) + rows(second)} == {"PENDING"}
