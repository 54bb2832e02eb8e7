"""Catalog and stock: search products, change price and availability, adjust stock with a reason (recorded with
who, how much and the stock after)."""

from decimal import Decimal

import pytest
from django.urls import reverse

from shop.models import StockAdjustment
from tests.backoffice.helpers import HTMX, alerts, everything, page, table_rows
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def products(laptop, mouse):
    retired = ProductFactory(sku="OLD-RADIO", name="Retired Radio", is_active=False, stock=0)
    return {"laptop": laptop, "mouse": mouse, "radio": retired}


def listed(response) -> list[str]:
    return [row[0] for row in table_rows(page(response).by_id("product-table")) if len(row) > 1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ["LAP-001", "MOU-001", "OLD-RADIO"]),  # every product by name, for sale or not
        ("mou", ["MOU-001"]),  # part of a name or SKU, any case
        ("lap-0", ["LAP-001"]),
        ("radio", ["OLD-RADIO"]),
        ("nothing", []),
        ("lap\x00", ["LAP-001"]),
    ],
)
def test_product_search_matches_name_or_sku_including_products_not_for_sale(support_client, products, text, expected):
    response = support_client.get(reverse("backoffice:products"), {"q": text})

    assert response.status_code == 200
    assert listed(response) == expected


def test_the_product_list_shows_price_stock_and_availability(support_client, products):
    response = support_client.get(reverse("backoffice:products"), {"q": "radio"})

    assert table_rows(page(response).by_id("product-table")) == [["OLD-RADIO", "Retired Radio", "10.00", "0", "no"]]


def test_an_htmx_product_search_gets_only_the_product_table(support_client, products):
    response = support_client.get(reverse("backoffice:products"), {"q": "laptop"}, headers=HTMX)

    body = response.content.decode().strip()
    assert "<html" not in body and "<h1" not in body
    assert body.startswith('<section id="product-table"')
    assert listed(response) == ["LAP-001"]


def test_an_unknown_product_is_not_found(catalog_client, db):
    assert catalog_client.get(reverse("backoffice:product", args=[999999])).status_code == 404
    assert catalog_client.post(reverse("backoffice:product-update", args=[999999]), {"price": "1"}).status_code == 404
    response = catalog_client.post(reverse("backoffice:product-stock", args=[999999]), {"delta": "1", "reason": "x"})
    assert response.status_code == 404


# --- Price and availability -------------------------------------------------------------------


def update(client, product, **data):
    url = reverse("backoffice:product-update", args=[product.pk])
    response = client.post(url, data, follow=True)
    assert response.redirect_chain == [(reverse("backoffice:product", args=[product.pk]), 302)]
    return response


def test_the_price_and_availability_can_be_changed(catalog_client, laptop):
    response = update(catalog_client, laptop, price="899.99")

    laptop.refresh_from_db()
    assert (laptop.price, laptop.is_active) == (Decimal("899.99"), False)  # an unticked box takes it off sale
    assert alerts(response) == [("success", "Laptop updated.")]
    assert "not for sale" in page(response).one("p").text

    update(catalog_client, laptop, price="899.99", is_active="on")
    laptop.refresh_from_db()
    assert laptop.is_active is True


def test_the_edit_form_shows_the_current_price_and_availability(catalog_client, laptop):
    response = catalog_client.get(reverse("backoffice:product", args=[laptop.pk]))

    form = page(response).one("form", action=reverse("backoffice:product-update", args=[laptop.pk]))
    assert form.one("input", name="price").attrs["value"] == "1000.00"
    assert "checked" in form.one("input", name="is_active").attrs


@pytest.mark.parametrize("price", ["0", "0.00", "-1.00", "abc", "", "10.001", "100000000.00"])
def test_an_invalid_price_is_refused_with_a_message_and_nothing_changes(catalog_client, laptop, price):
    before = everything()

    response = update(catalog_client, laptop, price=price, is_active="on")

    ((level, text),) = alerts(response)
    assert level == "danger" and text.startswith("price:")
    assert everything() == before
    laptop.refresh_from_db()
    assert laptop.price == Decimal("1000.00")


# --- Stock adjustments ------------------------------------------------------------------------


def adjust(client, product, **data):
    url = reverse("backoffice:product-stock", args=[product.pk])
    response = client.post(url, data, follow=True)
    assert response.redirect_chain == [(reverse("backoffice:product", args=[product.pk]), 302)]
    return response


def test_adding_stock_records_who_how_much_why_and_the_stock_after(catalog_client, catalog_user, laptop):
    response = adjust(catalog_client, laptop, delta="5", reason="Delivery from supplier")

    laptop.refresh_from_db()
    assert laptop.stock == 15
    assert alerts(response) == [("success", "Stock of Laptop is now 15.")]
    adjustment = StockAdjustment.objects.get()
    assert (adjustment.product, adjustment.delta, adjustment.stock_after, adjustment.reason, adjustment.created_by) == (
        laptop,
        5,
        15,
        "Delivery from supplier",
        catalog_user,
    )
    assert page(response).by_testid("stock").text == "15"
    (row,) = table_rows(page(response).find_all("table")[-1])
    assert row[1:] == [catalog_user.username, "+5", "15", "Delivery from supplier"]


def test_removing_stock_down_to_zero_is_allowed_and_listed_newest_first(catalog_client, catalog_user, laptop):
    adjust(catalog_client, laptop, delta="-4", reason="Damaged in storage")
    response = adjust(catalog_client, laptop, delta="-6", reason="Stock count")

    laptop.refresh_from_db()
    assert laptop.stock == 0
    rows = table_rows(page(response).find_all("table")[-1])
    assert [row[2:] for row in rows] == [["-6", "0", "Stock count"], ["-4", "6", "Damaged in storage"]]


def test_a_removal_below_zero_is_refused_with_a_message_and_the_stock_is_unchanged(catalog_client, laptop):
    before = everything()

    response = adjust(catalog_client, laptop, delta="-11", reason="Lost")

    assert alerts(response) == [("danger", "Only 10 of Laptop in stock: it cannot go down by 11.")]
    assert everything() == before
    laptop.refresh_from_db()
    assert laptop.stock == 10
    assert page(response).by_testid("stock").text == "10"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"delta": "5"}, "reason: This field is required."),
        ({"delta": "5", "reason": ""}, "reason: This field is required."),
        ({"delta": "5", "reason": "    "}, "reason: This field is required."),
        ({"reason": "Delivery"}, "delta: This field is required."),
        ({"delta": "many", "reason": "Delivery"}, "delta: Enter a whole number."),
        ({"delta": "0", "reason": "Delivery"}, "Adjust by 1 to 1000000 units, up or down."),
        ({"delta": "1000001", "reason": "Delivery"}, "Adjust by 1 to 1000000 units, up or down."),
    ],
)
def test_a_stock_adjustment_without_a_reason_or_a_usable_change_is_refused(catalog_client, laptop, data, message):
    before = everything()

    response = adjust(catalog_client, laptop, **data)

    assert alerts(response) == [("danger", message)]
    assert everything() == before
