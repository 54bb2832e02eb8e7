"""Fixtures for the storefront's view tests (helpers live in `tests.storefront.helpers`)."""

from decimal import Decimal

import pytest
from django.core.cache import cache

import shop.rendering as rendering
import shop.storefront.views as storefront_views
from tests.factories import CustomerFactory, ProductFactory, UserFactory

# --- Fixtures ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def rendered(monkeypatch):
    """The template names the storefront views passed to `render`, in order (a named partial included).

    The test client's own record (`response.templates`) does not see django-template-partials' partials.
    """
    names: list[str] = []
    original = storefront_views.render

    def spy(request, template_name, *args, **kwargs):
        names.append(template_name)
        return original(request, template_name, *args, **kwargs)

    monkeypatch.setattr(storefront_views, "render", spy)
    monkeypatch.setattr(rendering, "render", spy)  # pages with HTMX partials render through shop.rendering
    return names


@pytest.fixture
def make_products(db):
    def make(count: int, **fields) -> list:
        return [ProductFactory(name=f"Gadget {index:02d}", **fields) for index in range(count)]

    return make


@pytest.fixture
def keyboard(db):
    return ProductFactory(sku="KEY-001", name="Keyboard", price=Decimal("40.00"), stock=3)


@pytest.fixture
def sold_out(db):
    return ProductFactory(sku="OUT-001", name="Sold Out Lamp", price=Decimal("15.00"), stock=0)


@pytest.fixture
def retired(db):
    return ProductFactory(sku="OLD-001", name="Retired Radio", price=Decimal("30.00"), stock=5, is_active=False)


@pytest.fixture
def shopper(db):
    """A signed-up customer: a user with a profile."""
    return CustomerFactory(user=UserFactory(email="sam@example.com"), email="sam@example.com", name="Sam Shopper")
