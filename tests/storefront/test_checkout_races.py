"""The same checkout form sent at the same instant (a double click, two tabs) places one order and charges once.

Every racer is its own browser tab: its own Client carrying the same session cookie, on its own thread and so its
own PostgreSQL connection (closed by `race`).
"""

import uuid
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from shop.models import CheckoutSubmission, Order, Payment, Product, SandboxTransaction
from shop.services.checkout import guest_token_for
from tests.concurrency.race import race
from tests.factories import CustomerFactory, ProductFactory, UserFactory
from tests.storefront.helpers import add_to_cart, checkout_form

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]

CHECKOUT = "/checkout/"


@pytest.fixture
def gadget(db):
    return ProductFactory(sku="GAD-001", name="Gadget", price=Decimal("40.00"), stock=50)


def tab_of(client) -> Client:
    """Another tab of the same browser: the same session cookie."""
    tab = Client()
    tab.cookies[settings.SESSION_COOKIE_NAME] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return tab


def submit(client, data):
    def send():
        response = tab_of(client).post(CHECKOUT, data)
        return response.status_code, response.get("Location")

    return send


def assert_one_order_one_charge(gadget, quantity):
    assert Order.objects.count() == 1
    order = Order.objects.get()
    assert CheckoutSubmission.objects.get().order == order
    assert order.status == Order.Status.CONFIRMED
    assert Payment.objects.filter(order=order).count() == 1
    charges = SandboxTransaction.objects.filter(kind=SandboxTransaction.Kind.CHARGE)
    assert charges.count() == 1
    assert charges.get().amount == order.total
    assert Product.objects.get(pk=gadget.pk).stock == 50 - quantity
    return order


@pytest.mark.parametrize("racers", [2, 6], ids=["double-click", "six-tabs"])
@pytest.mark.parametrize("latency_ms", [0, 50], ids=["instant-gateway", "slow-gateway"])
def test_the_same_guest_checkout_sent_at_once_places_one_order_and_one_charge(settings, gadget, racers, latency_ms):
    settings.PAYMENT_GATEWAYS = {
        "fake": {"BACKEND": "shop.gateways.fake.FakeGateway", "OPTIONS": {"latency_ms": latency_ms}}
    }
    browser = Client()
    add_to_cart(browser, gadget, 2)
    data = checkout_form(browser)

    result = race(*[submit(browser, data)] * racers)

    assert result.errors == []
    assert_one_order_one_charge(gadget, 2)
    expected = f"/orders/{guest_token_for(uuid.UUID(data['checkout_key']))}/"
    assert result.values == [(302, expected)] * racers, "every tab must land on the one order"
    assert browser.get(expected).status_code == 200


def test_the_same_signed_in_checkout_sent_at_once_places_one_order_and_one_charge(gadget):
    customer = CustomerFactory(user=UserFactory(email="sam@example.com"), email="sam@example.com")
    browser = Client()
    browser.force_login(customer.user)
    add_to_cart(browser, gadget, 1)
    data = checkout_form(browser, signed_in=True)

    result = race(*[submit(browser, data)] * 2)

    assert result.errors == []
    order = assert_one_order_one_charge(gadget, 1)
    assert order.customer == customer
    assert result.values == [(302, reverse("storefront:account-order", args=[order.number]))] * 2
