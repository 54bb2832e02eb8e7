"""Every back-office page is a whole HTML page with its own <title> and one <h1>."""

import pytest
from django.urls import reverse

from tests.backoffice.helpers import head_title, page
from tests.factories import CustomerFactory, place_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def things(laptop):
    customer = CustomerFactory(name="Hana Tanaka", email="hana@example.com")
    order = place_order({laptop: 1}, customer=customer)
    return {"order": order, "customer": customer, "product": laptop}


PAGES = {
    "dashboard": lambda t: (reverse("backoffice:dashboard"), "Dashboard"),
    "orders": lambda t: (reverse("backoffice:orders"), "Orders"),
    "order": lambda t: (reverse("backoffice:order", args=[t["order"].number]), f"Order {t['order'].number}"),
    "customers": lambda t: (reverse("backoffice:customers"), "Customers"),
    "customer": lambda t: (reverse("backoffice:customer", args=[t["customer"].pk]), "Hana Tanaka"),
    "products": lambda t: (reverse("backoffice:products"), "Catalog and stock"),
    "product": lambda t: (reverse("backoffice:product", args=[t["product"].pk]), "Laptop"),
    "payments": lambda t: (reverse("backoffice:payments"), "Payments"),
}


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_page_has_its_own_title_and_one_h1(super_client, things, name):
    url, heading = PAGES[name](things)

    response = super_client.get(url)

    assert response.status_code == 200
    assert head_title(response) == f"{heading} · Shop"
    assert [h1.text for h1 in page(response).find_all("h1")] == [heading]


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_page_links_to_every_back_office_section(super_client, things, name):
    url, _heading = PAGES[name](things)

    nav = page(super_client.get(url)).one("nav", aria_label="Back office")

    links = {link.attrs["href"] for link in nav.find_all("a")}
    assert {
        reverse("backoffice:dashboard"),
        reverse("backoffice:orders"),
        reverse("backoffice:customers"),
        reverse("backoffice:products"),
        reverse("backoffice:payments"),
    } <= links
