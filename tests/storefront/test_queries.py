"""The catalog and cart pages (and the other lists) run a constant number of queries whatever their size."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import CustomerFactory, ProductFactory, UserFactory, place_order
from tests.storefront.helpers import HTMX, add_to_cart, page

pytestmark = pytest.mark.django_db


def queries_for(client, url, **kwargs) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, **kwargs)
    assert response.status_code == 200
    return len(context.captured_queries), [query["sql"] for query in context.captured_queries]


def product_queries(sql: list[str]) -> list[str]:
    """The queries that read the catalog (the session's own queries depend on the session backend)."""
    return [query for query in sql if '"shop_product"' in query]


def products(count):
    return [ProductFactory(name=f"Gadget {index:02d}") for index in range(count)]


def test_the_catalog_runs_the_same_queries_for_2_and_12_products(client, django_assert_num_queries):
    products(2)
    small, small_sql = queries_for(client, reverse("storefront:catalog"))
    products(10)

    # An anonymous visitor without a session: count the products, fetch the page; nothing else.
    with django_assert_num_queries(2):
        response = client.get(reverse("storefront:catalog"))

    assert len(page(response).by_id("product-grid").find_all("article")) == 12
    large, large_sql = queries_for(client, reverse("storefront:catalog"))
    assert small == large, "\n".join(large_sql)
    assert len(product_queries(small_sql)) == len(product_queries(large_sql)) == 2


def test_the_catalog_with_a_cart_runs_the_same_queries_for_2_and_12_products(client):
    in_cart = products(2)
    for product in in_cart:
        add_to_cart(client, product, 1)
    small, _ = queries_for(client, reverse("storefront:catalog"))
    products(10)

    large, sql = queries_for(client, reverse("storefront:catalog"))

    assert small == large, "\n".join(sql)
    assert len(product_queries(sql)) == 2, "\n".join(sql)  # the count and the page; the cart needs none


def test_the_htmx_product_grid_runs_the_same_queries_for_2_and_12_products(client):
    products(2)
    small, _ = queries_for(client, reverse("storefront:catalog"), headers=HTMX)
    products(10)

    large, sql = queries_for(client, reverse("storefront:catalog"), headers=HTMX)

    assert small == large, "\n".join(sql)


def test_a_search_runs_the_same_queries_for_2_and_12_matches(client):
    products(2)
    small, _ = queries_for(client, reverse("storefront:catalog"), query_params={"q": "gadget"})
    products(10)

    large, sql = queries_for(client, reverse("storefront:catalog"), query_params={"q": "gadget"})

    assert small == large, "\n".join(sql)


def test_the_cart_page_runs_the_same_queries_for_1_and_10_lines(client):
    goods = products(10)
    add_to_cart(client, goods[0], 1)
    small, small_sql = queries_for(client, reverse("storefront:cart"))
    for product in goods[1:]:
        add_to_cart(client, product, 2)

    large, sql = queries_for(client, reverse("storefront:cart"))

    assert small == large, "\n".join(sql)
    # Every product of the cart in one query, whatever the number of lines (the badge and the lines share it).
    assert len(product_queries(small_sql)) == len(product_queries(sql)) == 1, "\n".join(sql)
    assert len(page(client.get(reverse("storefront:cart"))).find("tbody").find_all("tr")) == 10


def test_the_htmx_cart_body_runs_the_same_queries_for_1_and_10_lines(client):
    goods = products(10)
    add_to_cart(client, goods[0], 1)
    small, _ = queries_for(client, reverse("storefront:cart"), headers=HTMX)
    for product in goods[1:]:
        add_to_cart(client, product, 1)

    large, sql = queries_for(client, reverse("storefront:cart"), headers=HTMX)

    assert small == large, "\n".join(sql)


def test_changing_a_line_runs_the_same_queries_for_1_and_10_lines(client):
    goods = products(10)
    add_to_cart(client, goods[0], 1)
    with CaptureQueriesContext(connection) as small:
        client.post(reverse("storefront:cart-update", args=[goods[0].sku]), {"quantity": 2}, headers=HTMX)
    for product in goods[1:]:
        add_to_cart(client, product, 1)

    with CaptureQueriesContext(connection) as large:
        client.post(reverse("storefront:cart-update", args=[goods[0].sku]), {"quantity": 3}, headers=HTMX)

    assert len(small) == len(large), "\n".join(query["sql"] for query in large.captured_queries)


def test_the_checkout_page_runs_the_same_queries_for_1_and_10_lines(client):
    goods = products(10)
    add_to_cart(client, goods[0], 1)
    small, _ = queries_for(client, reverse("storefront:checkout"))
    for product in goods[1:]:
        add_to_cart(client, product, 1)

    large, sql = queries_for(client, reverse("storefront:checkout"))

    assert small == large, "\n".join(sql)


def test_the_order_page_runs_the_same_queries_for_1_and_10_items(client):
    goods = products(10)
    small_order = place_order({goods[0]: 1})
    large_order = place_order(dict.fromkeys(goods, 1))

    small, _ = queries_for(client, reverse("storefront:guest-order", args=[small_order.access_token]))
    large, sql = queries_for(client, reverse("storefront:guest-order", args=[large_order.access_token]))

    assert small == large, "\n".join(sql)


def test_my_orders_runs_the_same_queries_for_1_and_10_orders(client):
    customer = CustomerFactory(user=UserFactory())
    goods = products(3)
    client.force_login(customer.user)
    place_order({goods[0]: 1}, customer=customer)
    small, _ = queries_for(client, reverse("storefront:account-orders"))
    for index in range(9):
        place_order({goods[index % 3]: 1 + index}, customer=customer)

    large, sql = queries_for(client, reverse("storefront:account-orders"))

    assert small == large, "\n".join(sql)
