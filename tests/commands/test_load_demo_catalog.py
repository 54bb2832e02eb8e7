"""manage.py load_demo_catalog: the seed's products, loaded once, never overwriting what is there."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from shop.models import Product
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def load() -> str:
    out = StringIO()
    call_command("load_demo_catalog", stdout=out)
    return out.getvalue()


def test_it_creates_at_least_twelve_products_including_the_seeds_laptop_and_mouse():
    load()

    assert Product.objects.count() >= 12
    laptop, mouse = Product.objects.get(sku="LAP-001"), Product.objects.get(sku="MOU-001")
    assert (laptop.name, laptop.price) == ("Laptop", Decimal("1000.00"))
    assert (mouse.name, mouse.price) == ("Mouse", Decimal("25.00"))
    assert laptop.stock > 0 and mouse.stock > 0
    assert laptop.is_active and mouse.is_active


def test_every_demo_product_is_sellable_data():
    load()

    for product in Product.objects.all():
        assert product.name and product.description, product.sku
        assert product.price > 0, product.sku
        assert product.stock >= 0, product.sku


def test_it_reports_how_many_products_it_added():
    output = load()

    count = Product.objects.count()
    assert f"{count} product(s) added, 0 already present" in output


def test_running_it_twice_changes_nothing():
    load()
    before = {p.sku: (p.name, p.price, p.stock, p.updated_at) for p in Product.objects.all()}

    output = load()

    after = {p.sku: (p.name, p.price, p.stock, p.updated_at) for p in Product.objects.all()}
    assert after == before
    assert f"0 product(s) added, {len(before)} already present" in output


def test_a_second_run_leaves_changed_stock_and_price_alone():
    load()
    Product.objects.filter(sku="LAP-001").update(stock=3, price=Decimal("900.00"))
    count = Product.objects.count()

    load()

    laptop = Product.objects.get(sku="LAP-001")
    assert (laptop.stock, laptop.price) == (3, Decimal("900.00"))
    assert Product.objects.count() == count


def test_an_existing_product_with_a_demo_sku_is_kept_as_it_is():
    ProductFactory(sku="MOU-001", name="Trackball", price=Decimal("60.00"), stock=7)

    output = load()

    mouse = Product.objects.get(sku="MOU-001")
    assert (mouse.name, mouse.price, mouse.stock) == ("Trackball", Decimal("60.00"), 7)
    assert "1 already present" in output
