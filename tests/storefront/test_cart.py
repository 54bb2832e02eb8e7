"""The cart lives in the session: add, change, remove, with htmx (fragments) and without (redirects, JS off)."""

from decimal import Decimal
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import ProductFactory
from tests.storefront.helpers import HTMX, add_to_cart, cart_count, is_fragment, messages_in, page, session_cart

pytestmark = pytest.mark.django_db


def add_url(product, next_url=None):
    url = reverse("storefront:cart-add", args=[product.sku])
    return f"{url}?next={quote(next_url, safe='/')}" if next_url is not None else url


def update_url(product):
    return reverse("storefront:cart-update", args=[product.sku])


def remove_url(product):
    return reverse("storefront:cart-remove", args=[product.sku])


def cart_line(tree, product):
    return tree.by_testid(f"cart-line-{product.sku}")


# --- Adding -----------------------------------------------------------------------------------


def test_adding_from_the_grid_without_htmx_puts_it_in_the_session_and_goes_back_to_the_grid(client, laptop):
    response = client.post(add_url(laptop, "/?q=lap&page=1"), {"quantity": 1})

    assert response.status_code == 302
    assert response.url == "/?q=lap&page=1"
    assert session_cart(client) == {"LAP-001": 1}
    shown = client.get(response.url)
    assert messages_in(shown) == ["Laptop added to your cart."]
    assert cart_count(page(shown)) == "1"


def test_the_grid_add_form_sends_the_shopper_back_to_the_page_they_were_on(client, laptop):
    grid = page(client.get(reverse("storefront:catalog"), {"q": "lap"}))
    action = grid.by_testid("product-LAP-001").find("form").attrs["action"]

    response = client.post(action, {"quantity": 1})

    assert response.url == "/?q=lap"
    assert session_cart(client) == {"LAP-001": 1}


def test_adding_from_the_product_page_with_a_quantity_goes_back_to_the_product(client, laptop):
    response = client.post(add_url(laptop, "/products/LAP-001/"), {"quantity": 3}, follow=True)

    assert response.redirect_chain == [("/products/LAP-001/", 302)]
    assert session_cart(client) == {"LAP-001": 3}
    assert "3 in your cart" in page(response).find("main").text
    assert messages_in(response) == ["Laptop added to your cart."]


def test_adding_without_next_goes_to_the_cart(client, laptop):
    response = client.post(add_url(laptop), {"quantity": 1})

    assert response.url == reverse("storefront:cart")


def test_adding_without_a_quantity_adds_one(client, laptop):
    client.post(add_url(laptop))

    assert session_cart(client) == {"LAP-001": 1}


def test_adding_the_same_product_again_adds_up(client, laptop, mouse):
    add_to_cart(client, laptop, 2)
    add_to_cart(client, mouse, 1)
    add_to_cart(client, laptop, 3)

    assert session_cart(client) == {"LAP-001": 5, "MOU-001": 1}


def test_the_cart_survives_between_requests_and_is_per_session(client, laptop):
    add_to_cart(client, laptop, 2)

    assert cart_count(page(client.get(reverse("storefront:catalog")))) == "2"
    assert cart_count(page(Client().get(reverse("storefront:catalog")))) == "0"


@pytest.mark.parametrize(
    "external",
    [
        "https://evil.example/",
        "//evil.example/steal",
        "http://evil.example/?next=/",
        "javascript:alert(1)",
        "https:///evil.example/",
    ],
)
def test_an_external_next_is_ignored_and_the_shopper_lands_on_the_cart(client, laptop, external):
    response = client.post(add_url(laptop, external), {"quantity": 1})

    assert response.status_code == 302
    assert response.url == reverse("storefront:cart")
    assert session_cart(client) == {"LAP-001": 1}


def test_a_same_site_absolute_next_is_followed(client, laptop):
    response = client.post(add_url(laptop, "http://testserver/products/LAP-001/"), {"quantity": 1})

    assert response.url == "http://testserver/products/LAP-001/"


@pytest.mark.parametrize("quantity", ["0", "-1", "abc", "100", "1.5"])
def test_adding_a_quantity_that_is_not_1_to_99_is_refused_with_a_message(client, laptop, quantity):
    response = client.post(add_url(laptop), {"quantity": quantity}, follow=True)

    assert session_cart(client) == {}
    assert messages_in(response) == ["That product cannot be added."]


def test_adding_more_than_the_stock_is_refused_with_a_message_and_the_cart_unchanged(client, keyboard):
    response = client.post(add_url(keyboard), {"quantity": 4}, follow=True)

    assert session_cart(client) == {}
    assert messages_in(response) == ["Only 3 of Keyboard in stock."]


def test_adding_more_than_the_stock_counting_what_is_in_the_cart_is_refused(client, keyboard):
    add_to_cart(client, keyboard, 2)

    response = client.post(add_url(keyboard), {"quantity": 2}, follow=True)

    assert session_cart(client) == {"KEY-001": 2}
    assert messages_in(response) == ["Only 3 of Keyboard in stock."]


def test_adding_exactly_the_stock_is_allowed(client, keyboard):
    add_to_cart(client, keyboard, 3)

    assert session_cart(client) == {"KEY-001": 3}


def test_htmx_add_returns_the_badge_with_the_new_count_and_the_message_out_of_band(client, laptop, mouse):
    add_to_cart(client, mouse, 2)

    response = client.post(add_url(laptop), {"quantity": 3}, headers=HTMX)

    assert response.status_code == 200
    assert is_fragment(response)
    tree = page(response)
    badge = tree.by_id("cart-badge")
    assert badge is not None and badge.tag == "a"
    assert cart_count(tree) == "5"
    assert "hx-swap-oob" not in badge.attrs
    messages = tree.by_id("messages")
    assert messages.attrs["hx-swap-oob"] == "true"
    assert messages_in(tree) == ["Laptop added to your cart."]
    assert session_cart(client) == {"MOU-001": 2, "LAP-001": 3}


def test_htmx_add_above_the_stock_returns_the_unchanged_badge_and_the_refusal(client, keyboard):
    response = client.post(add_url(keyboard), {"quantity": 9}, headers=HTMX)

    tree = page(response)
    assert cart_count(tree) == "0"
    assert messages_in(tree) == ["Only 3 of Keyboard in stock."]
    assert session_cart(client) == {}


def test_htmx_add_does_not_leave_its_message_for_the_next_page(client, laptop):
    client.post(add_url(laptop), {"quantity": 1}, headers=HTMX)

    assert messages_in(client.get(reverse("storefront:catalog"))) == []


# --- The cart page ----------------------------------------------------------------------------


def test_the_cart_page_shows_lines_with_prices_totals_and_the_subtotal(client, laptop, mouse):
    add_to_cart(client, laptop, 1)
    add_to_cart(client, mouse, 2)

    tree = page(client.get(reverse("storefront:cart")))

    laptop_line = cart_line(tree, laptop)
    assert "Laptop" in laptop_line.text and "1000.00" in laptop_line.text
    assert tree.by_id("qty-LAP-001").attrs["value"] == "1"
    assert tree.by_id("qty-MOU-001").attrs["value"] == "2"
    assert "50.00" in cart_line(tree, mouse).text
    assert tree.by_testid("cart-subtotal").text == "1050.00 USD"
    assert tree.find("a", href=reverse("storefront:checkout")) is not None


def test_an_empty_cart_says_so_and_offers_no_checkout(client, db):
    tree = page(client.get(reverse("storefront:cart")))

    assert "Your cart is empty." in tree.by_id("cart-body").text
    assert tree.find("a", href=reverse("storefront:checkout")) is None


def test_the_cart_shows_the_current_catalog_price(client, laptop):
    add_to_cart(client, laptop, 2)
    laptop.price = Decimal("900.00")
    laptop.save()

    tree = page(client.get(reverse("storefront:cart")))

    assert tree.by_testid("cart-subtotal").text == "1800.00 USD"


def test_the_cart_warns_about_a_line_that_no_longer_has_enough_stock(client, keyboard):
    add_to_cart(client, keyboard, 3)
    keyboard.stock = 1
    keyboard.save()

    tree = page(client.get(reverse("storefront:cart")))

    assert "Only 1 in stock" in cart_line(tree, keyboard).text


def test_a_line_whose_product_was_withdrawn_is_flagged_without_blaming_the_stock(client, keyboard):
    add_to_cart(client, keyboard, 2)
    keyboard.is_active = False
    keyboard.save()

    line = cart_line(page(client.get(reverse("storefront:cart"))), keyboard)

    warning = line.find(class_="text-danger")
    assert warning is not None, "the withdrawn product is not flagged"
    assert "in stock" not in warning.text  # 3 are in stock: the product is no longer sold, which is another matter


def test_a_product_deleted_from_the_catalog_drops_out_of_the_cart(client, laptop, mouse):
    add_to_cart(client, laptop)
    add_to_cart(client, mouse)
    mouse.delete()

    tree = page(client.get(reverse("storefront:cart")))

    assert cart_line(tree, laptop) is not None
    assert cart_line(tree, mouse) is None
    assert tree.by_testid("cart-subtotal").text == "1000.00 USD"


def test_the_badge_counts_only_what_the_cart_page_lists(client, laptop, mouse):
    add_to_cart(client, laptop, 1)
    add_to_cart(client, mouse, 2)
    mouse.delete()

    tree = page(client.get(reverse("storefront:cart")))

    assert [line.attrs["data-testid"] for line in tree.find_all("tr") if "data-testid" in line.attrs] == [
        "cart-line-LAP-001"
    ]
    assert cart_count(tree) == "1"


# --- Changing and removing --------------------------------------------------------------------


def test_changing_the_quantity_without_htmx_redirects_to_the_cart_showing_it(client, laptop):
    add_to_cart(client, laptop, 1)

    response = client.post(update_url(laptop), {"quantity": 4}, follow=True)

    assert response.redirect_chain == [(reverse("storefront:cart"), 302)]
    assert session_cart(client) == {"LAP-001": 4}
    tree = page(response)
    assert tree.by_id("qty-LAP-001").attrs["value"] == "4"
    assert tree.by_testid("cart-subtotal").text == "4000.00 USD"
    assert messages_in(tree) == ["Your cart was updated."]
    assert cart_count(tree) == "4"


def test_changing_the_quantity_to_zero_removes_the_line(client, laptop, mouse):
    add_to_cart(client, laptop, 1)
    add_to_cart(client, mouse, 1)

    client.post(update_url(laptop), {"quantity": 0})

    assert session_cart(client) == {"MOU-001": 1}


def test_changing_the_quantity_above_the_stock_is_refused_with_a_message_and_the_cart_unchanged(client, keyboard):
    add_to_cart(client, keyboard, 2)

    response = client.post(update_url(keyboard), {"quantity": 5}, follow=True)

    assert session_cart(client) == {"KEY-001": 2}
    assert messages_in(response) == ["Only 3 of Keyboard in stock."]
    assert page(response).by_id("qty-KEY-001").attrs["value"] == "2"


@pytest.mark.parametrize("quantity", ["", "-1", "abc", "100"])
def test_changing_to_a_quantity_that_is_not_0_to_99_is_refused_with_a_message(client, laptop, quantity):
    add_to_cart(client, laptop, 2)

    response = client.post(update_url(laptop), {"quantity": quantity}, follow=True)

    assert session_cart(client) == {"LAP-001": 2}
    assert messages_in(response) == ["Enter a quantity from 0 to 99."]


@pytest.mark.parametrize("sku", ["OLD-001", "NO-SUCH-SKU"])
def test_the_update_action_cannot_put_a_product_that_is_not_for_sale_into_the_cart(client, laptop, retired, sku):
    response = client.post(reverse("storefront:cart-update", args=[sku]), {"quantity": 7}, follow=True)

    assert session_cart(client) == {}
    tree = page(response)
    assert tree.by_testid(f"cart-line-{sku}") is None
    assert cart_count(tree) == "0"


def test_changing_a_line_whose_product_left_the_catalog_to_zero_removes_it(client, keyboard):
    add_to_cart(client, keyboard, 2)
    keyboard.is_active = False
    keyboard.save()

    client.post(update_url(keyboard), {"quantity": 0})

    assert session_cart(client) == {}


def test_removing_a_line_without_htmx_redirects_to_the_cart_without_it(client, laptop, mouse):
    add_to_cart(client, laptop, 2)
    add_to_cart(client, mouse, 1)

    response = client.post(remove_url(laptop), follow=True)

    assert response.redirect_chain == [(reverse("storefront:cart"), 302)]
    assert session_cart(client) == {"MOU-001": 1}
    tree = page(response)
    assert cart_line(tree, laptop) is None
    assert messages_in(tree) == ["The item was removed from your cart."]
    assert cart_count(tree) == "1"


def test_htmx_update_returns_the_cart_body_and_the_new_badge_out_of_band(client, laptop, mouse):
    add_to_cart(client, laptop, 1)
    add_to_cart(client, mouse, 1)

    response = client.post(update_url(mouse), {"quantity": 5}, headers=HTMX)

    assert response.status_code == 200
    assert is_fragment(response)
    tree = page(response)
    body = tree.by_id("cart-body")
    assert [element.attrs.get("id") for element in tree.top_level()] == ["cart-body"]
    assert body.by_id("qty-MOU-001").attrs["value"] == "5"
    assert body.by_testid("cart-subtotal").text == "1125.00 USD"
    badge = tree.by_id("cart-badge")
    assert badge.attrs["hx-swap-oob"] == "true"
    assert cart_count(tree) == "6"
    assert tree.by_id("messages").attrs["hx-swap-oob"] == "true"
    assert messages_in(tree) == ["Your cart was updated."]
    assert session_cart(client) == {"LAP-001": 1, "MOU-001": 5}


def test_htmx_update_above_the_stock_returns_the_unchanged_cart_and_the_refusal(client, keyboard):
    add_to_cart(client, keyboard, 1)

    response = client.post(update_url(keyboard), {"quantity": 7}, headers=HTMX)

    tree = page(response)
    assert tree.by_id("qty-KEY-001").attrs["value"] == "1"
    assert cart_count(tree) == "1"
    assert messages_in(tree) == ["Only 3 of Keyboard in stock."]


def test_htmx_remove_returns_the_cart_body_without_the_line_and_the_new_badge_out_of_band(client, laptop, mouse):
    add_to_cart(client, laptop, 1)
    add_to_cart(client, mouse, 4)

    response = client.post(remove_url(mouse), headers=HTMX)

    assert is_fragment(response)
    tree = page(response)
    assert [element.attrs.get("id") for element in tree.top_level()] == ["cart-body"]
    assert cart_line(tree, mouse) is None
    assert cart_line(tree, laptop) is not None
    assert tree.by_id("cart-badge").attrs["hx-swap-oob"] == "true"
    assert cart_count(tree) == "1"
    assert messages_in(tree) == ["The item was removed from your cart."]
    assert session_cart(client) == {"LAP-001": 1}


def test_htmx_removing_the_last_line_returns_the_empty_cart(client, laptop):
    add_to_cart(client, laptop, 1)

    tree = page(client.post(remove_url(laptop), headers=HTMX))

    assert "Your cart is empty." in tree.by_id("cart-body").text
    assert cart_count(tree) == "0"
    assert session_cart(client) == {}


def test_cart_forms_work_with_and_without_javascript(client, laptop):
    add_to_cart(client, laptop)

    line = cart_line(page(client.get(reverse("storefront:cart"))), laptop)

    update, remove = line.find_all("form")
    assert (update.attrs["method"], update.attrs["action"], update.attrs["hx-post"]) == (
        "post",
        update_url(laptop),
        update_url(laptop),
    )
    assert update.attrs["hx-target"] == "#cart-body"
    assert (remove.attrs["method"], remove.attrs["action"], remove.attrs["hx-post"]) == (
        "post",
        remove_url(laptop),
        remove_url(laptop),
    )
    assert remove.attrs["hx-target"] == "#cart-body"


def test_many_products_in_the_cart_are_all_listed(client, make_products):
    products = make_products(10)
    for product in products:
        add_to_cart(client, product, 2)
    ProductFactory()  # not in the cart

    tree = page(client.get(reverse("storefront:cart")))

    assert all(cart_line(tree, product) is not None for product in products)
    assert tree.by_testid("cart-subtotal").text == "200.00 USD"
    assert cart_count(tree) == "20"
