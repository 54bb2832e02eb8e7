"""Test data. Orders are always made through the services, so they are exactly what production makes."""

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from factory.django import DjangoModelFactory

from shop.models import Customer, Order, PaymentMethod, Product
from shop.services import Actor, Contact, OrderLine, create_order, process_payment


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("correct horse battery staple")


class ProductFactory(DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    price = Decimal("10.00")
    stock = 100


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = Customer

    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    name = factory.Faker("name")
    phone = "998901234567"


def place_order(
    quantities: dict[Product, int],
    *,
    shipping_cost: str = "0.00",
    email: str = "guest@example.com",
    customer: Customer | None = None,
    payment_method: str = PaymentMethod.CREDIT_CARD,
) -> Order:
    return create_order(
        items=[OrderLine(sku=product.sku, quantity=quantity) for product, quantity in quantities.items()],
        shipping_address="123 Main St, Tashkent",
        shipping_cost=shipping_cost,
        payment_method=payment_method,
        customer=customer,
        guest=None if customer else Contact(email=email, name="Guest Buyer", phone="998901234567"),
    )


def paid_order(quantities: dict[Product, int], *, token: str = "tok_visa", **kwargs) -> Order:
    order = place_order(quantities, **kwargs)
    process_payment(order_id=order.pk, actor=Actor.system("tests"), token=token)
    order.refresh_from_db()
    return order
