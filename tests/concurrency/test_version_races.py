"""Optimistic locking under real concurrency: threads behind a barrier, one PostgreSQL connection each.

Two staff members acting on the version of the order they were shown: exactly one change goes through,
the other is refused as a conflict, and the audit trail records one transition.
"""

from functools import partial

import pytest

from shop.exceptions import InvalidTransition, VersionConflict
from shop.models import Order, OrderEvent, Payment, Product
from shop.services import cancel_order, complete_order
from tests.concurrency.race import race
from tests.factories import ProductFactory, paid_order, place_order

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]

ROUNDS = 5


@pytest.fixture
def product(db):
    return ProductFactory(stock=1000)


def _events(order: Order, kind: str) -> int:
    return OrderEvent.objects.filter(order=order, kind=kind).count()


def test_two_staff_completing_with_the_same_version_complete_the_order_once(product, staff, system):
    for _round in range(ROUNDS):
        order = paid_order({product: 1})
        version = order.version

        result = race(
            partial(complete_order, order_id=order.pk, actor=staff, expected_version=version),
            partial(complete_order, order_id=order.pk, actor=system, expected_version=version),
        )

        assert len(result.values) == 1
        assert len(result.errors) == 1
        assert isinstance(result.errors[0], (VersionConflict, InvalidTransition)), result.errors
        order.refresh_from_db()
        assert (order.status, order.version) == (Order.Status.COMPLETED, version + 1)
        assert _events(order, "order.completed") == 1
        assert OrderEvent.objects.filter(order=order, to_status=Order.Status.COMPLETED).count() == 1


def test_a_cancel_and_a_complete_with_the_same_version_let_exactly_one_through(product, staff, system):
    winners = set()
    for _round in range(ROUNDS):
        order = paid_order({product: 1})
        version = order.version
        stock_before = Product.objects.get(pk=product.pk).stock

        result = race(
            partial(complete_order, order_id=order.pk, actor=staff, expected_version=version),
            partial(cancel_order, order_id=order.pk, actor=system, expected_version=version),
        )

        assert len(result.values) == 1
        assert len(result.errors) == 1
        assert isinstance(result.errors[0], (VersionConflict, InvalidTransition)), result.errors
        order.refresh_from_db()
        completed, cancelled = _events(order, "order.completed"), _events(order, "order.cancelled")
        assert completed + cancelled == 1
        if order.status == Order.Status.COMPLETED:
            assert order.version == version + 1
            assert order.refunded_amount == 0
            assert Product.objects.get(pk=product.pk).stock == stock_before
        else:
            assert order.status == Order.Status.CANCELLED
            assert order.version == version + 2  # refund requested, then cancelled with the refund
            assert order.refunded_amount == order.total
            assert Payment.objects.get(order=order).status == Payment.Status.REFUNDED
            assert Product.objects.get(pk=product.pk).stock == stock_before + 1
        winners.add(order.status)
    assert winners <= {Order.Status.COMPLETED, Order.Status.CANCELLED}


def test_two_staff_cancelling_an_unpaid_order_with_the_same_version_cancel_it_once(product, staff, system):
    for _round in range(ROUNDS):
        order = place_order({product: 3})
        version = order.version
        stock_before = Product.objects.get(pk=product.pk).stock

        result = race(
            partial(cancel_order, order_id=order.pk, actor=staff, expected_version=version),
            partial(cancel_order, order_id=order.pk, actor=system, expected_version=version),
        )

        assert len(result.values) == 1
        assert isinstance(result.errors[0], (VersionConflict, InvalidTransition)), result.errors
        order.refresh_from_db()
        assert (order.status, order.version) == (Order.Status.CANCELLED, version + 1)
        assert _events(order, "order.cancelled") == 1
        assert Product.objects.get(pk=product.pk).stock == stock_before + 3
