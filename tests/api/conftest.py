"""Clients for every kind of caller. Tokens are real JWTs, so authentication is exercised as in production."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import CustomerFactory, UserFactory, paid_order, place_order


@pytest.fixture(autouse=True)
def fresh_cache():
    """Throttle counters live in the cache; every test starts with none."""
    cache.clear()
    yield
    cache.clear()


def client_for(user=None, *, order_token: str = "") -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    if order_token:
        client.credentials(**client._credentials, HTTP_X_ORDER_TOKEN=order_token)
    return client


@pytest.fixture
def anonymous():
    return APIClient()


@pytest.fixture
def staff_api(staff_user):
    return client_for(staff_user)


@pytest.fixture
def customer(db):
    """A registered customer: a user with a profile."""
    return CustomerFactory(user=UserFactory(), email="owner@example.com", name="Olivia Owner")


@pytest.fixture
def customer_api(customer):
    return client_for(customer.user)


@pytest.fixture
def other_customer(db):
    return CustomerFactory(user=UserFactory(), email="other@example.com", name="Oscar Other")


@pytest.fixture
def other_customer_api(other_customer):
    return client_for(other_customer.user)


@pytest.fixture
def customer_order(customer, laptop, mouse):
    """A PENDING order of the registered customer: 1 laptop + 2 mice + 5.00 shipping = 1055.00."""
    return place_order({laptop: 1, mouse: 2}, shipping_cost="5.00", customer=customer)


@pytest.fixture
def guest_order(order):
    """The PENDING guest order of the top-level conftest; `order.access_token` is the guest's secret."""
    return order


@pytest.fixture
def guest_api(guest_order):
    return client_for(order_token=guest_order.access_token)


@pytest.fixture
def paid_customer_order(customer, laptop, mouse):
    return paid_order({laptop: 1, mouse: 2}, shipping_cost="5.00", customer=customer)
