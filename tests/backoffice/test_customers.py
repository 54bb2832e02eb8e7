"""Customers: search by email, name or phone; a customer's page with their orders and totals."""

from decimal import Decimal

import pytest
from django.urls import reverse

from shop.services import Actor, refund_order
from tests.backoffice.helpers import HTMX, page, table_rows
from tests.factories import CustomerFactory, UserFactory, paid_order, place_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(db):
    return {
        "ann": CustomerFactory(name="Ann Lee", email="ann.lee@example.com", phone="998901111111"),
        "ben": CustomerFactory(name="Ben Stone", email="ben@stone.test", phone="998902222222"),
        "cy": CustomerFactory(
            name="Cy Annandale", email="cy@example.com", phone="", user=UserFactory(email="cy@example.com")
        ),
    }


def names(response) -> list[str]:
    return [row[0] for row in table_rows(page(response).by_id("customer-table")) if len(row) > 1]


def search(client, text: str, **kwargs):
    response = client.get(reverse("backoffice:customers"), {"q": text}, **kwargs)
    assert response.status_code == 200
    return response


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ["Cy Annandale", "Ben Stone", "Ann Lee"]),  # everyone, newest first
        ("ann", ["Cy Annandale", "Ann Lee"]),  # part of a name, any case
        ("STONE.TEST", ["Ben Stone"]),  # part of an email
        ("2222", ["Ben Stone"]),  # part of a phone number
        ("  ben  ", ["Ben Stone"]),
        ("nobody", []),
    ],
)
def test_customer_search_matches_email_name_or_phone(support_client, people, text, expected):
    assert names(search(support_client, text)) == expected


def test_the_customer_list_shows_kind_and_order_count(support_client, people, laptop):
    place_order({laptop: 1}, customer=people["ann"])
    place_order({laptop: 1}, customer=people["ann"])

    rows = table_rows(page(search(support_client, "")).by_id("customer-table"))

    assert rows == [
        ["Cy Annandale", "cy@example.com", "", "account", "0"],
        ["Ben Stone", "ben@stone.test", "998902222222", "guest", "0"],
        ["Ann Lee", "ann.lee@example.com", "998901111111", "guest", "2"],
    ]


def test_a_search_with_a_nul_character_is_answered_not_a_server_error(support_client, people):
    assert names(search(support_client, "ann\x00")) == ["Cy Annandale", "Ann Lee"]


def test_an_htmx_search_gets_only_the_customer_table(support_client, people):
    response = search(support_client, "ben", headers=HTMX)

    body = response.content.decode().strip()
    assert "<html" not in body and "<h1" not in body
    assert body.startswith('<section id="customer-table"')
    assert names(response) == ["Ben Stone"]


def test_the_customer_pages_keep_the_search(support_client, db):
    for index in range(27):
        CustomerFactory(name=f"Zed {index:02d}", email=f"zed{index}@example.com")
    CustomerFactory(name="Other Person", email="other@example.com")

    first = search(support_client, "zed")
    nav = page(first).by_id("customer-table").one("nav")
    next_link = nav.one("a").attrs["href"]
    assert next_link == "?q=zed&page=2"
    second = support_client.get(reverse("backoffice:customers") + next_link)

    assert len(names(first)) == 25
    assert len(names(second)) == 2
    assert "Other Person" not in names(first) + names(second)


def test_the_customer_page_lists_their_orders_newest_first_with_totals(support_client, people, laptop, mouse):
    ann = people["ann"]
    first = paid_order({laptop: 1}, customer=ann)
    second = place_order({mouse: 2}, customer=ann, shipping_cost="5.00")
    refund_order(order_id=first.pk, actor=Actor.system("tests"), amount="100.00")
    place_order({mouse: 1}, customer=people["ben"])

    response = support_client.get(reverse("backoffice:customer", args=[ann.pk]))

    assert response.status_code == 200
    html = page(response)
    assert html.one("h1").text == "Ann Lee"
    assert "ann.lee@example.com" in html.one("p").text and "guest" in html.one("p").text
    terms = [term.text for term in html.find_all("dt")]
    values = [value.text for value in html.find_all("dd")]
    assert dict(zip(terms, values, strict=True)) == {
        "Orders": "2",
        "Ordered in all": str(Decimal("1000.00") + Decimal("55.00")),
        "Refunded": "100.00",
    }
    rows = table_rows(html.one("table"))
    assert [row[0] for row in rows] == [second.number, first.number]
    assert [row[2] for row in rows] == ["PENDING", "CONFIRMED"]
    assert [row[3] for row in rows] == ["55.00", "1000.00"]
    links = [link.attrs["href"] for link in html.one("table").find_all("a")]
    assert links == [reverse("backoffice:order", args=[order.number]) for order in (second, first)]


def test_a_customer_without_orders_shows_zero_totals(support_client, people):
    response = support_client.get(reverse("backoffice:customer", args=[people["cy"].pk]))

    html = page(response)
    values = [value.text for value in html.find_all("dd")]
    assert values == ["0", "0.00", "0.00"]
    assert "No orders." in html.one("table").text
    assert "account" in html.one("p").text


def test_an_unknown_customer_is_not_found(support_client, db):
    assert support_client.get(reverse("backoffice:customer", args=[999999])).status_code == 404


def test_customer_names_are_escaped_on_their_page(support_client, db):
    customer = CustomerFactory(name="<img src=x onerror=alert(1)>", email="x@example.com")

    response = support_client.get(reverse("backoffice:customer", args=[customer.pk]))

    assert b"<img src=x" not in response.content
    assert b"&lt;img src=x onerror=alert(1)&gt;" in response.content
