"""Every storefront page and partial: status, template, whole page for a plain request, only the fragment for htmx.

And for every page a shopper can open: a <title>, one <h1>, and a label for every form field.
"""

import pytest
from django.urls import reverse

from tests.factories import place_order
from tests.storefront.helpers import (
    HTMX,
    HTMX_BOOSTED,
    add_to_cart,
    assert_accessible_page,
    cart_count,
    is_fragment,
    is_whole_page,
    page,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def shopper_order(shopper, laptop, mouse):
    return place_order({laptop: 1, mouse: 2}, shipping_cost="5.00", customer=shopper)


def template_names(response) -> list[str]:
    return [template.name for template in response.templates]


# --- Catalog ----------------------------------------------------------------------------------


def test_catalog_plain_request_returns_the_whole_page_from_the_catalog_template(client, laptop, rendered):
    response = client.get(reverse("storefront:catalog"))

    assert response.status_code == 200
    assert rendered == ["storefront/catalog.html"]
    assert "storefront/catalog.html" in template_names(response)
    assert "base.html" in template_names(response)
    assert is_whole_page(response)
    tree = page(response)
    assert tree.by_id("product-grid") is not None
    assert tree.find("form", role="search") is not None


def test_catalog_htmx_request_returns_only_the_product_grid_partial(client, laptop, rendered):
    response = client.get(reverse("storefront:catalog"), headers=HTMX)

    assert response.status_code == 200
    assert rendered == ["storefront/catalog.html#product-grid"]
    assert "base.html" not in template_names(response)
    assert is_fragment(response)
    top = page(response).top_level()
    assert [(element.tag, element.attrs.get("id")) for element in top] == [("section", "product-grid")]
    assert page(response).by_testid("product-LAP-001") is not None
    # The search form lives outside the grid, so typing in it is not replaced under the shopper's cursor.
    assert page(response).find("form", role="search") is None


def test_catalog_boosted_htmx_navigation_gets_the_whole_page(client, laptop, rendered):
    response = client.get(reverse("storefront:catalog"), headers=HTMX_BOOSTED)

    assert response.status_code == 200
    assert rendered == ["storefront/catalog.html"]
    assert is_whole_page(response)


def test_catalog_refuses_post(client, db):
    assert client.post(reverse("storefront:catalog")).status_code == 405


# --- Product ----------------------------------------------------------------------------------


def test_product_page_returns_the_whole_page_from_the_product_template(client, laptop):
    response = client.get(reverse("storefront:product", args=[laptop.sku]))

    assert response.status_code == 200
    assert "storefront/product.html" in template_names(response)
    assert is_whole_page(response)
    assert page(response).find("h1").text == "Laptop"


def test_product_page_of_an_unknown_sku_is_404(client, db):
    assert client.get(reverse("storefront:product", args=["NOPE-1"])).status_code == 404


# --- Cart -------------------------------------------------------------------------------------


def test_cart_plain_request_returns_the_whole_page_from_the_cart_template(client, laptop, rendered):
    add_to_cart(client, laptop)
    rendered.clear()

    response = client.get(reverse("storefront:cart"))

    assert response.status_code == 200
    assert rendered == ["storefront/cart.html"]
    assert "storefront/cart.html" in template_names(response)
    assert is_whole_page(response)
    tree = page(response)
    assert tree.by_id("cart-body") is not None
    # The page's own badge is not out-of-band: only an htmx answer swaps it from afar.
    assert "hx-swap-oob" not in tree.by_id("cart-badge").attrs


def test_cart_htmx_request_returns_only_the_cart_body_partial(client, laptop, rendered):
    add_to_cart(client, laptop)
    rendered.clear()

    response = client.get(reverse("storefront:cart"), headers=HTMX)

    assert response.status_code == 200
    assert rendered == ["storefront/cart.html#cart-body"]
    assert is_fragment(response)
    top = page(response).top_level()
    assert [(element.tag, element.attrs.get("id")) for element in top] == [("section", "cart-body")]
    assert page(response).by_testid("cart-line-LAP-001") is not None


def test_cart_add_htmx_returns_the_badge_partial_and_out_of_band_messages(client, laptop):
    response = client.post(reverse("storefront:cart-add", args=[laptop.sku]), {"quantity": 2}, headers=HTMX)

    assert response.status_code == 200
    assert "storefront/partials/cart_badge.html" in template_names(response)
    assert is_fragment(response)
    top = page(response).top_level()
    assert [element.attrs.get("id") for element in top] == ["cart-badge", "messages"]
    badge, messages = top
    assert "hx-swap-oob" not in badge.attrs  # the badge is the target of the swap itself
    assert messages.attrs.get("hx-swap-oob") == "true"


def test_cart_add_plain_request_redirects(client, laptop):
    response = client.post(reverse("storefront:cart-add", args=[laptop.sku]), {"quantity": 1})

    assert response.status_code == 302


@pytest.mark.parametrize("action", ["cart-update", "cart-remove"])
def test_cart_change_htmx_returns_the_cart_body_with_out_of_band_badge_and_messages(client, laptop, rendered, action):
    add_to_cart(client, laptop, 1)
    rendered.clear()

    response = client.post(reverse(f"storefront:{action}", args=[laptop.sku]), {"quantity": 2}, headers=HTMX)

    assert response.status_code == 200
    assert rendered == ["storefront/cart.html#cart-body"]
    assert is_fragment(response)
    top = page(response).top_level()
    assert [(element.tag, element.attrs.get("id")) for element in top] == [("section", "cart-body")]
    oob = {element.attrs["id"]: element for element in page(response).find_all(hx_swap_oob="true")}
    assert set(oob) == {"cart-badge", "messages"}


@pytest.mark.parametrize("action", ["cart-update", "cart-remove"])
def test_cart_change_plain_request_redirects_to_the_cart(client, laptop, action):
    add_to_cart(client, laptop, 1)

    response = client.post(reverse(f"storefront:{action}", args=[laptop.sku]), {"quantity": 2})

    assert response.status_code == 302
    assert response.url == reverse("storefront:cart")


@pytest.mark.parametrize("action", ["cart-add", "cart-update", "cart-remove"])
def test_cart_actions_refuse_get(client, laptop, action):
    assert client.get(reverse(f"storefront:{action}", args=[laptop.sku])).status_code == 405
    assert client.session.get("cart", {}) == {}


# --- Checkout and orders ----------------------------------------------------------------------


def test_checkout_returns_the_whole_page_from_the_checkout_template(client, laptop):
    add_to_cart(client, laptop)

    response = client.get(reverse("storefront:checkout"))

    assert response.status_code == 200
    assert "storefront/checkout.html" in template_names(response)
    assert is_whole_page(response)


def test_guest_order_page_returns_the_whole_page_from_the_order_template(client, order, rendered):
    response = client.get(reverse("storefront:guest-order", args=[order.access_token]))

    assert response.status_code == 200
    assert rendered == ["storefront/order.html"]
    assert "storefront/order.html" in template_names(response)
    assert is_whole_page(response)


def test_guest_order_htmx_request_returns_only_the_order_body_partial(client, order, rendered):
    response = client.get(reverse("storefront:guest-order", args=[order.access_token]), headers=HTMX)

    assert response.status_code == 200
    assert rendered == ["storefront/order.html#order-body"]
    assert is_fragment(response)
    tree = page(response)
    assert [(element.tag, element.attrs.get("id")) for element in tree.top_level()] == [("div", "order-body")]
    assert tree.by_testid("order-status").text == "Pending"
    assert tree.find("h1") is None


def test_guest_order_boosted_htmx_navigation_gets_the_whole_page(client, order, rendered):
    response = client.get(reverse("storefront:guest-order", args=[order.access_token]), headers=HTMX_BOOSTED)

    assert rendered == ["storefront/order.html"]
    assert is_whole_page(response)


def test_account_order_htmx_request_returns_only_the_order_body_partial(client, shopper_order, shopper, rendered):
    client.force_login(shopper.user)

    response = client.get(reverse("storefront:account-order", args=[shopper_order.number]), headers=HTMX)

    assert response.status_code == 200
    assert rendered == ["storefront/order.html#order-body"]
    assert is_fragment(response)
    assert [element.attrs.get("id") for element in page(response).top_level()] == ["order-body"]


def test_my_orders_returns_the_whole_page_from_the_account_orders_template(client, shopper_order, shopper):
    client.force_login(shopper.user)

    response = client.get(reverse("storefront:account-orders"))

    assert response.status_code == 200
    assert "storefront/account_orders.html" in template_names(response)
    assert is_whole_page(response)


def test_account_order_page_returns_the_whole_page_from_the_order_template(client, shopper_order, shopper):
    client.force_login(shopper.user)

    response = client.get(reverse("storefront:account-order", args=[shopper_order.number]))

    assert response.status_code == 200
    assert "storefront/order.html" in template_names(response)
    assert is_whole_page(response)


# --- Every page: a title, an h1, labelled fields ----------------------------------------------


# name -> (url from the test's objects, whether a signed-in shopper opens it)
PAGES = {
    "catalog": (lambda o: reverse("storefront:catalog"), False),
    "catalog search": (lambda o: reverse("storefront:catalog") + "?q=lap", False),
    "catalog search without results": (lambda o: reverse("storefront:catalog") + "?q=zzz", False),
    "product": (lambda o: reverse("storefront:product", args=[o["laptop"].sku]), False),
    "product out of stock": (lambda o: reverse("storefront:product", args=[o["sold_out"].sku]), False),
    "empty cart": (lambda o: reverse("storefront:cart"), False),
    "guest order": (lambda o: reverse("storefront:guest-order", args=[o["order"].access_token]), False),
    "login": (lambda o: reverse("account_login"), False),
    "signup": (lambda o: reverse("account_signup"), False),
    "password reset": (lambda o: reverse("account_reset_password"), False),
    "password reset sent": (lambda o: reverse("account_reset_password_done"), False),
    "my orders": (lambda o: reverse("storefront:account-orders"), True),
    "account order": (lambda o: reverse("storefront:account-order", args=[o["shopper_order"].number]), True),
    "logout": (lambda o: reverse("account_logout"), True),
    "email addresses": (lambda o: reverse("account_email"), True),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_has_a_title_an_h1_and_labelled_fields(
    client, laptop, sold_out, order, shopper, shopper_order, name
):
    url_of, signed_in = PAGES[name]
    url = url_of({"laptop": laptop, "sold_out": sold_out, "order": order, "shopper_order": shopper_order})
    if signed_in:
        client.force_login(shopper.user)

    response = client.get(url)

    assert response.status_code == 200, response
    assert_accessible_page(response)


def test_cart_with_lines_has_a_title_an_h1_and_a_label_for_every_quantity(client, laptop, mouse):
    add_to_cart(client, laptop)
    add_to_cart(client, mouse)

    response = client.get(reverse("storefront:cart"))

    assert_accessible_page(response)
    tree = page(response)
    assert tree.find("label", **{"for": "qty-LAP-001"}).text == "Quantity of Laptop"


def test_checkout_page_has_a_title_an_h1_and_a_label_for_every_field(client, laptop):
    add_to_cart(client, laptop)

    response = client.get(reverse("storefront:checkout"))

    assert_accessible_page(response)
    tree = page(response)
    for field in ("email", "name", "phone", "shipping_address", "payment_method", "card"):
        assert tree.find("label", **{"for": f"id_{field}"}) is not None, field


def test_signed_in_checkout_page_has_a_title_an_h1_and_labelled_fields(client, laptop, shopper):
    client.force_login(shopper.user)
    add_to_cart(client, laptop)

    assert_accessible_page(client.get(reverse("storefront:checkout")))


def test_the_title_names_the_page(client, laptop, order):
    def title(url):
        return page(client.get(url)).find("title").text

    assert title(reverse("storefront:catalog")) == "Catalog · Shop"
    assert title(reverse("storefront:product", args=[laptop.sku])) == "Laptop · Shop"
    assert title(reverse("storefront:cart")) == "Your cart · Shop"
    assert title(reverse("storefront:guest-order", args=[order.access_token])) == f"Order {order.number} · Shop"
    assert "Sign In" in title(reverse("account_login"))


def test_navbar_badge_counts_the_cart_on_every_page(client, laptop, mouse):
    add_to_cart(client, laptop, 2)
    add_to_cart(client, mouse, 3)

    for url in (reverse("storefront:catalog"), reverse("storefront:product", args=[laptop.sku])):
        assert cart_count(page(client.get(url))) == "5"
