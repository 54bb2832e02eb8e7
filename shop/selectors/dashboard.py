"""Figures for the back office's dashboard: a handful of aggregate queries, whatever the number of orders."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from shop.models import Order, Payment, Refund
from shop.models.orders import OrderStatus
from shop.models.payments import CAPTURED_PAYMENT_STATUSES

PERIODS = {"today": 0, "last_7_days": 6, "last_30_days": 29}
PERIOD_LABELS = {"today": "Today", "last_7_days": "Last 7 days", "last_30_days": "Last 30 days"}
ABOUT_TO_EXPIRE = timedelta(minutes=10)


@dataclass(frozen=True)
class PeriodFigures:
    label: str
    orders: int
    revenue: Decimal
    refunds: Decimal
    failed_payments: int


@dataclass(frozen=True)
class Day:
    day: date
    orders: int
    revenue: Decimal


def period_figures(now: datetime | None = None) -> list[PeriodFigures]:
    """Orders placed, money captured, money refunded and payments failed: today, the last 7 and 30 days."""
    starts = {label: _day_start(now, days_back) for label, days_back in PERIODS.items()}
    first = min(starts.values())
    orders = Order.objects.filter(created_at__gte=first).aggregate(
        **{label: Count("pk", filter=Q(created_at__gte=start)) for label, start in starts.items()}
    )
    payments = Payment.objects.filter(processed_at__gte=first).aggregate(
        **{
            f"revenue_{label}": Sum("amount", filter=Q(processed_at__gte=start, status__in=CAPTURED_PAYMENT_STATUSES))
            for label, start in starts.items()
        },
        **{
            f"failed_{label}": Count("pk", filter=Q(processed_at__gte=start, status=Payment.Status.FAILED))
            for label, start in starts.items()
        },
    )
    refunds = Refund.objects.filter(processed_at__gte=first, status=Refund.Status.SUCCEEDED).aggregate(
        **{label: Sum("amount", filter=Q(processed_at__gte=start)) for label, start in starts.items()}
    )
    return [
        PeriodFigures(
            label=PERIOD_LABELS[label],
            orders=orders[label],
            revenue=payments[f"revenue_{label}"] or Decimal("0.00"),
            refunds=refunds[label] or Decimal("0.00"),
            failed_payments=payments[f"failed_{label}"],
        )
        for label in PERIODS
    ]


def daily_series(days: int = 30, now: datetime | None = None) -> list[Day]:
    """Orders placed and money captured per day, oldest first, days without any included."""
    first = _day_start(now, days - 1)
    orders = dict(
        Order.objects.filter(created_at__gte=first)
        .annotate(day=TruncDate("created_at"))
        .values_list("day")
        .annotate(count=Count("pk"))
        .values_list("day", "count")
    )
    revenue = dict(
        Payment.objects.filter(processed_at__gte=first, status__in=CAPTURED_PAYMENT_STATUSES)
        .annotate(day=TruncDate("processed_at"))
        .values_list("day")
        .annotate(total=Sum("amount"))
        .values_list("day", "total")
    )
    start_day = timezone.localdate(first)
    return [
        Day(day, orders.get(day, 0), revenue.get(day) or Decimal("0.00"))
        for day in (start_day + timedelta(days=offset) for offset in range(days))
    ]


def stuck_payments(now: datetime | None = None) -> QuerySet[Payment]:
    """Payments PROCESSING longer than reconciliation waits: their answer was lost, or a process died."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.PAYMENT_RECONCILE_AFTER_SECONDS)
    return (
        Payment.objects.filter(status=Payment.Status.PROCESSING, processing_started_at__lt=cutoff)
        .select_related("order")
        .order_by("processing_started_at")
    )


def orders_about_to_expire(now: datetime | None = None) -> QuerySet[Order]:
    """Unpaid orders that the expiry job will cancel within ten minutes."""
    now = now or timezone.now()
    ttl = timedelta(minutes=settings.UNPAID_ORDER_TTL_MINUTES)
    return (
        Order.objects.filter(
            status__in=[OrderStatus.PENDING, OrderStatus.FAILED], created_at__lt=now - ttl + ABOUT_TO_EXPIRE
        )
        .select_related("customer")
        .order_by("created_at")
    )


def _day_start(now: datetime | None, days_back: int) -> datetime:
    today = timezone.localdate(now or timezone.now())
    return timezone.make_aware(datetime.combine(today - timedelta(days=days_back), time.min))
