"""The audit trail is append-only: in Python (model and queryset) and, on PostgreSQL, in the database."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models.deletion import ProtectedError

from shop.models import Order, OrderEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(order):
    return order.events.get(kind="order.created")


def _unchanged(event: OrderEvent) -> bool:
    stored = OrderEvent.objects.get(pk=event.pk)
    return (stored.kind, stored.message, stored.data) == (event.kind, event.message, event.data)


def test_saving_an_existing_event_raises_type_error(event):
    event.message = "rewritten"
    with pytest.raises(TypeError, match="append-only"):
        event.save()
    assert OrderEvent.objects.get(pk=event.pk).message != "rewritten"


def test_deleting_an_event_raises_type_error(event):
    with pytest.raises(TypeError, match="append-only"):
        event.delete()
    assert OrderEvent.objects.filter(pk=event.pk).exists()


def test_queryset_update_of_events_raises_type_error(event):
    with pytest.raises(TypeError, match="append-only"):
        OrderEvent.objects.filter(pk=event.pk).update(message="rewritten")
    with pytest.raises(TypeError, match="append-only"):
        OrderEvent.objects.all().update(kind="x")
    assert _unchanged(event)


def test_queryset_delete_of_events_raises_type_error(event):
    with pytest.raises(TypeError, match="append-only"):
        OrderEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(TypeError, match="append-only"):
        OrderEvent.objects.all().delete()
    assert OrderEvent.objects.filter(pk=event.pk).exists()


def test_the_related_manager_of_an_order_cannot_update_or_delete_its_events(order, event):
    with pytest.raises(TypeError, match="append-only"):
        order.events.update(message="rewritten")
    with pytest.raises(TypeError, match="append-only"):
        order.events.all().delete()
    assert _unchanged(event)


def test_bulk_update_of_events_raises_type_error(event):
    event.message = "rewritten"
    # bulk_update runs inside atomic(savepoint=False): give it a savepoint so the test can go on.
    with pytest.raises(TypeError, match="append-only"), transaction.atomic():
        OrderEvent.objects.bulk_update([event], ["message"])
    assert OrderEvent.objects.get(pk=event.pk).message != "rewritten"


def test_an_order_with_events_cannot_be_deleted(order):
    with pytest.raises(ProtectedError), transaction.atomic():
        order.delete()
    assert Order.objects.filter(pk=order.pk).exists()


def test_new_events_can_still_be_added(order):
    before = order.events.count()
    OrderEvent.objects.create(order=order, kind="note", actor_kind=OrderEvent.ActorKind.SYSTEM, message="hello")
    assert order.events.count() == before + 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
def test_raw_sql_update_of_an_event_is_refused_by_the_database_trigger(event):
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE shop_orderevent SET message = %s WHERE id = %s", ["rewritten", event.pk])
    assert _unchanged(event)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
def test_raw_sql_delete_of_an_event_is_refused_by_the_database_trigger(event):
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM shop_orderevent WHERE id = %s", [event.pk])
    assert OrderEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
def test_raw_sql_delete_of_the_whole_trail_is_refused_by_the_database_trigger(order):
    count = OrderEvent.objects.count()
    assert count > 0
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM shop_orderevent")
    assert OrderEvent.objects.count() == count


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
def test_raw_sql_insert_of_an_event_is_still_allowed(order):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO shop_orderevent (order_id, kind, actor_kind, actor_label, from_status, to_status,"
            " message, data, created_at) VALUES (%s, 'raw', 'SYSTEM', '', '', '', '', '{}', now())",
            [order.pk],
        )
    assert order.events.filter(kind="raw").count() == 1
