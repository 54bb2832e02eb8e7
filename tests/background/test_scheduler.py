"""manage.py run_scheduler --once: each periodic job runs once and prints its outcome."""

import re
import signal
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from shop.management.commands import run_scheduler
from shop.models import IdempotencyKey, Order, Payment, Product
from shop.services import process_payment
from tests.background.conftest import SEND_EMAIL, queued_calls
from tests.factories import place_order

pytestmark = pytest.mark.django_db


def scheduler_once() -> list[str]:
    saved = signal.getsignal(signal.SIGTERM)
    out = StringIO()
    try:
        call_command("run_scheduler", "--once", stdout=out)
    finally:
        signal.signal(signal.SIGTERM, saved)
    return out.getvalue().splitlines()


def _backdate(model, pk, **fields) -> None:
    model.objects.filter(pk=pk).update(**fields)


def test_run_scheduler_once_reconciles_releases_and_purges_and_prints_each_outcome(laptop, mouse, system):
    expired = place_order({laptop: 2})
    _backdate(Order, expired.pk, created_at=timezone.now() - timedelta(hours=2))
    fresh = place_order({laptop: 1})
    stuck = place_order({mouse: 1})
    payment = process_payment(order_id=stuck.pk, actor=system, token="tok_timeout")
    _backdate(Payment, payment.pk, processing_started_at=timezone.now() - timedelta(minutes=10))
    old_key = IdempotencyKey.objects.create(scope="client:1", key="old", fingerprint="x" * 64)
    _backdate(IdempotencyKey, old_key.pk, created_at=timezone.now() - timedelta(hours=25))
    IdempotencyKey.objects.create(scope="client:1", key="new", fingerprint="y" * 64)

    lines = scheduler_once()

    assert len(lines) == 3, lines
    assert re.fullmatch(
        r"reconcile_payments: 1 payment\(s\) confirmed, 0 failed, 0 refund\(s\) settled \(\d+\.\d\d s\)", lines[0]
    )
    assert re.fullmatch(r"release_expired_orders: released 1 expired order\(s\) \(\d+\.\d\d s\)", lines[1])
    assert re.fullmatch(r"purge_idempotency_keys: purged 1 idempotency key\(s\) \(\d+\.\d\d s\)", lines[2])
    expired.refresh_from_db()
    fresh.refresh_from_db()
    stuck.refresh_from_db()
    assert expired.status == Order.Status.CANCELLED
    assert Product.objects.get(pk=laptop.pk).stock == 10 - 1  # the expired order's 2 laptops are back
    assert fresh.status == Order.Status.PENDING
    assert stuck.status == Order.Status.CONFIRMED
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
    assert ("send_order_email", expired.pk, "order_cancelled") in queued_calls(SEND_EMAIL)


def test_run_scheduler_once_with_nothing_to_do_says_so(db):
    lines = scheduler_once()

    assert [line.rsplit(" (", 1)[0] for line in lines] == [
        "reconcile_payments: 0 payment(s) confirmed, 0 failed, 0 refund(s) settled",
        "release_expired_orders: released 0 expired order(s)",
        "purge_idempotency_keys: purged 0 idempotency key(s)",
    ]


def test_a_failing_job_does_not_stop_the_other_jobs(db, monkeypatch, caplog):
    def broken():
        raise RuntimeError("gateway unreachable")

    monkeypatch.setitem(run_scheduler.JOBS, "reconcile_payments", broken)

    lines = scheduler_once()

    assert [line.split(":")[0] for line in lines] == ["release_expired_orders", "purge_idempotency_keys"]
    assert "Scheduled job reconcile_payments failed" in caplog.text
