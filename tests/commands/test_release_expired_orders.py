"""manage.py release_expired_orders: old unpaid orders are cancelled and their stock returned, nothing else."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from shop.models import Order, OrderEvent, Payment, Product
from shop.services import process_payment
from tests.factories import paid_order, place_order

pytestmark = pytest.mark.django_db


def release(*args) -> str:
    out = StringIO()
    call_command("release_expired_orders", *args, stdout=out)
    return out.getvalue()


def age(order: Order, *, minutes: int) -> None:
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(minutes=minutes))


def stock(product: Product) -> int:
    return Product.objects.get(pk=product.pk).stock


def test_an_old_unpaid_order_is_cancelled_and_its_stock_restored_while_fresh_and_paid_ones_stay(laptop, mouse):
    old = place_order({laptop: 1, mouse: 2})
    fresh = place_order({laptop: 2})
    paid = paid_order({laptop: 3, mouse: 1})
    age(old, minutes=120)
    age(paid, minutes=120)
    assert (stock(laptop), stock(mouse)) == (4, 97)

    output = release("--older-than", "30")

    assert output.strip() == f"Released 1 expired order(s): {old.number}"
    statuses = dict(Order.objects.values_list("pk", "status"))
    assert statuses == {old.pk: "CANCELLED", fresh.pk: "PENDING", paid.pk: "CONFIRMED"}
    assert (stock(laptop), stock(mouse)) == (5, 99)
    assert old.payments.get().status == Payment.Status.FAILED
    assert paid.payments.get().status == Payment.Status.COMPLETED


def test_the_cancellation_is_recorded_as_done_by_the_system(order):
    age(order, minutes=120)

    release("--older-than", "30")

    event = OrderEvent.objects.filter(order=order).last()
    assert (event.kind, event.from_status, event.to_status) == ("order.cancelled", "PENDING", "CANCELLED")
    assert event.actor_kind == OrderEvent.ActorKind.SYSTEM
    order.refresh_from_db()
    assert order.version == 2


def test_an_old_order_whose_payment_failed_is_released_too(laptop, system):
    failed = place_order({laptop: 4})
    process_payment(order_id=failed.pk, actor=system, token="tok_decline")
    age(failed, minutes=120)
    assert stock(laptop) == 6

    release("--older-than", "30")

    failed.refresh_from_db()
    assert failed.status == Order.Status.CANCELLED
    assert stock(laptop) == 10


def test_an_old_order_with_a_payment_in_flight_is_left_alone(laptop, system):
    processing = place_order({laptop: 1})
    process_payment(order_id=processing.pk, actor=system, token="tok_timeout")
    age(processing, minutes=120)

    output = release("--older-than", "30")

    processing.refresh_from_db()
    assert processing.status == Order.Status.PROCESSING
    assert stock(laptop) == 9
    assert "Released 0 expired order(s)." in output


def test_older_than_zero_releases_every_unpaid_order(laptop):
    just_placed = place_order({laptop: 2})

    output = release("--older-than", "0")

    just_placed.refresh_from_db()
    assert just_placed.status == Order.Status.CANCELLED
    assert just_placed.number in output
    assert stock(laptop) == 10


def test_without_an_age_the_unpaid_order_ttl_setting_decides(settings, laptop):
    settings.UNPAID_ORDER_TTL_MINUTES = 10
    expired, recent = place_order({laptop: 1}), place_order({laptop: 1})
    age(expired, minutes=11)
    age(recent, minutes=9)

    release()

    assert dict(Order.objects.values_list("pk", "status")) == {expired.pk: "CANCELLED", recent.pk: "PENDING"}
    assert stock(laptop) == 9


def test_running_it_again_releases_nothing_and_returns_stock_only_once(laptop):
    order = place_order({laptop: 3})
    age(order, minutes=120)
    release("--older-than", "30")
    assert stock(laptop) == 10

    output = release("--older-than", "30")

    assert output.strip() == "Released 0 expired order(s)."
    assert stock(laptop) == 10
    assert OrderEvent.objects.filter(order=order, kind="order.cancelled").count() == 1
