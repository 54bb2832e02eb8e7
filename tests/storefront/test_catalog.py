"""The catalog: search by name or SKU, 12 products a page, only active products, nothing out of stock to add."""

import pytest
from django.urls import reverse

from tests.factories import ProductFactory
from tests.storefront.helpers import HTMX, cart_count, is_fragment, messages_in, page, session_cart

pytestmark = pytest.mark.django_db


def shown_skus(response) -> list[str]:
    grid = page(response).by_id("product-grid")
    assert grid is not None, "no product grid"
    return [card.attrs["data-testid"].removeprefix("product-") for card in grid.find_all("article")]


def test_catalog_lists_active_products_by_name(client, laptop, mouse):
    response = client.get(reverse("storefront:catalog"))

    assert shown_skus(response) == ["LAP-001", "MOU-001"]
    card = page(response).by_testid("product-LAP-001")
    assert "1000.00 USD" in card.text
    assert "In stock" in card.text


def test_catalog_hides_inactive_products(client, laptop, retired):
    response = client.get(reverse("storefront:catalog"))

    assert shown_skus(response) == ["LAP-001"]
    assert "Retired Radio" not in response.content.decode()


def test_search_hides_inactive_products_that_match(client, retired):
    response = client.get(reverse("storefront:catalog"), {"q": "radio"})

    assert shown_skus(response) == []


@pytest.mark.parametrize("query", ["lapt", "LAPTOP", "  laptop  "])
def test_search_finds_products_by_part_of_the_name_in_any_case(client, laptop, mouse, query):
    assert shown_skus(client.get(reverse("storefront:catalog"), {"q": query})) == ["LAP-001"]


@pytest.mark.parametrize("query", ["MOU-001", "mou-0", "001"])
def test_search_finds_products_by_sku(client, laptop, mouse, query):
    expected = ["LAP-001", "MOU-001"] if query == "001" else ["MOU-001"]

    assert shown_skus(client.get(reverse("storefront:catalog"), {"q": query})) == expected


def test_search_without_results_says_so_and_keeps_the_query_in_the_box(client, laptop):
    response = client.get(reverse("storefront:catalog"), {"q": "teapot"})

    tree = page(response)
    assert shown_skus(response) == []
    assert "No products match “teapot”" in tree.by_id("product-grid").text
    assert tree.by_id("search").attrs["value"] == "teapot"
    assert "teapot" in tree.find("title").text


def test_search_text_is_escaped_in_the_page(client, laptop):
    response = client.get(reverse("storefront:catalog"), {"q": "<script>alert(1)</script>"})

    assert b"<script>alert(1)</script>" not in response.content
    assert b"&lt;script&gt;" in response.content


def test_catalog_shows_twelve_products_a_page_and_the_rest_on_the_next(client, make_products):
    make_products(13)

    first = client.get(reverse("storefront:catalog"))
    second = client.get(reverse("storefront:catalog"), {"page": 2})

    assert len(shown_skus(first)) == 12
    assert len(shown_skus(second)) == 1
    assert set(shown_skus(first)).isdisjoint(shown_skus(second))
    assert "Page 1 of 2" in page(first).find("nav", aria_label="Catalog pages").text
    assert "Page 2 of 2" in page(second).find("nav", aria_label="Catalog pages").text


def test_twelve_products_fit_on_one_page_without_pagination(client, make_products):
    make_products(12)

    response = client.get(reverse("storefront:catalog"))

    assert len(shown_skus(response)) == 12
    assert page(response).find("nav", aria_label="Catalog pages") is None


def test_pagination_links_keep_the_search(client, make_products):
    make_products(14)  # "Gadget 00" ... "Gadget 13"

    response = client.get(reverse("storefront:catalog"), {"q": "gadget"})

    next_link = page(response).find("nav", aria_label="Catalog pages").find("a")
    assert next_link.text == "Next"
    assert next_link.attrs["href"] == "?q=gadget&page=2"
    assert next_link.attrs["hx-get"] == "?q=gadget&page=2"
    assert len(shown_skus(client.get(reverse("storefront:catalog") + next_link.attrs["href"]))) == 2


@pytest.mark.parametrize("page_param", ["99", "abc", "-1"])
def test_a_page_number_out_of_range_or_not_a_number_still_shows_products(client, make_products, page_param):
    make_products(13)

    response = client.get(reverse("storefront:catalog"), {"page": page_param})

    assert response.status_code == 200
    assert shown_skus(response)


def test_htmx_search_returns_only_the_product_grid_with_the_matches(client, laptop, mouse):
    response = client.get(reverse("storefront:catalog"), {"q": "mouse"}, headers=HTMX)

    assert response.status_code == 200
    assert is_fragment(response)
    tree = page(response)
    assert [element.attrs.get("id") for element in tree.top_level()] == ["product-grid"]
    assert tree.find("nav") is None  # no navbar
    assert tree.find("h1") is None
    assert shown_skus(response) == ["MOU-001"]


def test_htmx_pagination_returns_only_the_product_grid_of_that_page(client, make_products):
    make_products(13)

    response = client.get(reverse("storefront:catalog"), {"page": 2}, headers=HTMX)

    assert is_fragment(response)
    assert len(shown_skus(response)) == 1


def test_products_in_stock_have_an_add_button_posting_to_the_cart(client, laptop):
    card = page(client.get(reverse("storefront:catalog"))).by_testid("product-LAP-001")

    form = card.find("form")
    assert form.attrs["method"] == "post"
    assert form.attrs["action"].startswith(reverse("storefront:cart-add", args=["LAP-001"]))
    assert form.attrs["hx-post"] == reverse("storefront:cart-add", args=["LAP-001"])
    assert form.attrs["hx-target"] == "#cart-badge"
    assert form.find("button", type="submit").text == "Add Laptop to cart"


def test_out_of_stock_products_are_shown_without_an_add_button(client, sold_out):
    response = client.get(reverse("storefront:catalog"))
    card = page(response).by_testid("product-OUT-001")

    assert "Out of stock" in card.text
    assert card.find("form") is None
    assert card.find("button", type="submit") is None
    assert reverse("storefront:cart-add", args=["OUT-001"]) not in response.content.decode()


def test_out_of_stock_product_page_has_no_add_form(client, sold_out):
    tree = page(client.get(reverse("storefront:product", args=[sold_out.sku])))

    assert "Out of stock" in tree.find("main").text
    assert tree.find("main").find("form") is None


def test_product_page_offers_a_quantity_up_to_the_stock_and_says_how_many_are_in_the_cart(client, keyboard):
    client.post(reverse("storefront:cart-add", args=[keyboard.sku]), {"quantity": 2})

    tree = page(client.get(reverse("storefront:product", args=[keyboard.sku])))

    quantity = tree.by_id("quantity")
    assert quantity.attrs["max"] == "3"
    assert "3 available, 2 in your cart" in tree.find("main").text
    assert tree.find("main").find("form").attrs["action"] == (
        reverse("storefront:cart-add", args=[keyboard.sku]) + "?next=" + reverse("storefront:product", args=["KEY-001"])
    )


def test_product_page_of_an_inactive_product_is_404(client, retired):
    assert client.get(reverse("storefront:product", args=[retired.sku])).status_code == 404


def test_adding_an_out_of_stock_product_is_refused_with_a_message_and_the_cart_unchanged(client, laptop, sold_out):
    client.post(reverse("storefront:cart-add", args=[laptop.sku]), {"quantity": 1}, follow=True)

    response = client.post(reverse("storefront:cart-add", args=[sold_out.sku]), {"quantity": 1}, follow=True)

    assert session_cart(client) == {"LAP-001": 1}
    assert messages_in(response) == ["Sold Out Lamp is out of stock."]


def test_htmx_adding_an_out_of_stock_product_is_refused_with_a_message_and_the_badge_unchanged(client, sold_out):
    response = client.post(reverse("storefront:cart-add", args=[sold_out.sku]), {"quantity": 1}, headers=HTMX)

    assert response.status_code == 200
    assert session_cart(client) == {}
    tree = page(response)
    assert cart_count(tree) == "0"
    assert messages_in(tree) == ["Sold Out Lamp is out of stock."]
    assert tree.by_id("messages").find_all(class_="alert-danger")


def test_adding_an_inactive_product_is_refused(client, retired):
    response = client.post(reverse("storefront:cart-add", args=[retired.sku]), {"quantity": 1}, follow=True)

    assert session_cart(client) == {}
    assert messages_in(response) == ["That product cannot be added."]


def test_adding_an_unknown_product_is_refused(client, db):
    response = client.post(reverse("storefront:cart-add", args=["NOPE"]), {"quantity": 1}, follow=True)

    assert session_cart(client) == {}
    assert messages_in(response) == ["That product cannot be added."]


def test_a_product_that_sells_out_disappears_from_sale_but_not_from_the_catalog(client, keyboard):
    ProductFactory(sku="ZZZ-1", name="Zebra", stock=1)
    keyboard.stock = 0
    keyboard.save()

    response = client.get(reverse("storefront:catalog"))

    assert shown_skus(response) == ["KEY-001", "ZZZ-1"]
    assert page(response).by_testid("product-KEY-001").find("form") is None
    assert page(response).by_testid("product-ZZZ-1").find("form") is not None
