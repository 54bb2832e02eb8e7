"""How the back office copes with 100,000 orders: times the order desk and the dashboard.

    DATABASE_URL=postgres://localhost/shop_bench .venv/bin/python bench/backoffice_scale.py [--orders 100000]

The database named in DATABASE_URL is migrated and filled once (orders, items, payments, refunds and events
spread over 90 days, inserted in bulk); later runs reuse it. Each page is fetched through Django's test client
as a superuser, `--repeat` times after one warm-up; the median and the worst time and the query count are
printed. Nothing is sent over the network.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from shop.models import Customer, Order, OrderEvent, OrderItem, Payment, Product, Refund  # noqa: E402
from shop.models.orders import new_order_number  # noqa: E402

STATUSES = ["PENDING"] * 5 + ["FAILED"] * 5 + ["CONFIRMED"] * 35 + ["COMPLETED"] * 40 + ["CANCELLED"] * 10
STATUSES += ["REFUNDED"] * 5
BATCH = 5000

PAGES = {
    "order desk, first page (25)": "/backoffice/orders/",
    "order desk, 100 a page": "/backoffice/orders/?page_size=100",
    "order desk, status + payment filter": "/backoffice/orders/?status=CONFIRMED&payment_status=COMPLETED",
    "order desk, date range, by total": "/backoffice/orders/?created_from={from_day}&sort=total_desc",
    "order desk, search by email": "/backoffice/orders/?q=customer123@",
    "order desk, search by SKU": "/backoffice/orders/?q=BENCH-0007",
    "order desk, page 2000": "/backoffice/orders/?page=2000",
    "dashboard": "/backoffice/",
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Point DATABASE_URL at a PostgreSQL database, e.g. postgres://localhost/shop_bench")
    call_command("migrate", verbosity=0)
    existing = Order.objects.count()
    if existing < args.orders:
        started = time.perf_counter()
        fill(args.orders - existing)
        print(f"loaded {args.orders - existing} orders in {time.perf_counter() - started:.1f} s")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"{Order.objects.count()} orders, {Payment.objects.count()} payments, {OrderEvent.objects.count()} events")
    client = Client()
    client.force_login(_superuser())
    from_day = (timezone.localdate() - timedelta(days=30)).isoformat()
    print(f"{'page':40} {'median ms':>10} {'max ms':>8} {'queries':>8}")
    for name, url in PAGES.items():
        median, worst, queries = measure(client, url.format(from_day=from_day), args.repeat)
        print(f"{name:40} {median:10.1f} {worst:8.1f} {queries:8d}")


def measure(client, url, repeat):
    client.get(url)  # warm-up
    times = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times), max(times), len(queries)


def fill(count):
    rng = random.Random(42)
    products = _products()
    customers = _customers(min(20_000, max(count // 5, 1)))
    now = timezone.now()
    for start in range(0, count, BATCH):
        _insert_batch(rng, products, customers, min(BATCH, count - start), now)


def _products():
    products = [
        Product(sku=f"BENCH-{n:04d}", name=f"Bench product {n}", price=Decimal(rng_price(n)), stock=1_000_000)
        for n in range(50)
    ]
    Product.objects.bulk_create(products, ignore_conflicts=True)
    return list(Product.objects.filter(sku__startswith="BENCH-"))


def rng_price(n):
    return f"{5 + (n * 37) % 500}.{n % 100:02d}"


def _customers(count):
    existing = list(Customer.objects.filter(email__startswith="customer"))
    if len(existing) >= count:
        return existing
    Customer.objects.bulk_create(
        [Customer(email=f"customer{n}@example.com", name=f"Customer {n}") for n in range(len(existing), count)],
        batch_size=BATCH,
    )
    return list(Customer.objects.filter(email__startswith="customer"))


def _insert_batch(rng, products, customers, size, now):
    orders, lines = [], []
    for _ in range(size):
        status = rng.choice(STATUSES)
        chosen = rng.sample(products, rng.randint(1, 3))
        quantities = [rng.randint(1, 3) for _ in chosen]
        subtotal = sum((p.price * q for p, q in zip(chosen, quantities, strict=True)), Decimal("0.00"))
        shipping = Decimal("5.00")
        order = Order(
            number=new_order_number(),
            customer=rng.choice(customers),
            status=status,
            subtotal=subtotal,
            shipping_cost=shipping,
            total=subtotal + shipping,
            refunded_amount=subtotal + shipping if status == "REFUNDED" else Decimal("0.00"),
            shipping_address="1 Bench Street",
        )
        order.set_access_token()
        orders.append(order)
        lines.append((chosen, quantities, now - timedelta(seconds=rng.randint(0, 90 * 86400))))
    Order.objects.bulk_create(orders)
    items, payments, events, stamps = [], [], [], []
    for order, (chosen, quantities, created) in zip(orders, lines, strict=True):
        stamps.append((order.pk, created))
        items += [
            OrderItem(
                order=order,
                product=p,
                product_sku=p.sku,
                product_name=p.name,
                unit_price=p.price,
                quantity=q,
                line_total=p.price * q,
            )
            for p, q in zip(chosen, quantities, strict=True)
        ]
        payment_status = {"PENDING": "PENDING", "FAILED": "FAILED", "CANCELLED": "FAILED", "REFUNDED": "REFUNDED"}.get(
            order.status, "COMPLETED"
        )
        payments.append(
            Payment(
                order=order,
                method=rng.choice(["CREDIT_CARD", "DEBIT_CARD", "PAYPAL"]),
                status=payment_status,
                amount=order.total,
                refunded_amount=order.refunded_amount,
                gateway="fake",
                processed_at=None if payment_status == "PENDING" else created + timedelta(seconds=2),
            )
        )
        events.append(
            OrderEvent(
                order=order,
                kind="order.created",
                actor_kind="GUEST",
                to_status="PENDING",
                message="Order placed (benchmark data).",
            )
        )
    OrderItem.objects.bulk_create(items)
    Payment.objects.bulk_create(payments)
    OrderEvent.objects.bulk_create(events)
    Refund.objects.bulk_create(
        [
            Refund(payment=p, amount=p.amount, status="SUCCEEDED", processed_at=p.processed_at)
            for p in payments
            if p.status == "REFUNDED"
        ]
    )
    _backdate(stamps)


def _backdate(stamps):
    """bulk_create stamps every row now; spread the orders over 90 days as a real shop's would be."""
    with connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE shop_order SET created_at = %s, updated_at = %s WHERE id = %s",
            [(created, created, pk) for pk, created in stamps],
        )
        cursor.execute(
            "UPDATE shop_payment p SET created_at = o.created_at FROM shop_order o "
            "WHERE p.order_id = o.id AND o.id = ANY(%s)",
            [[pk for pk, _ in stamps]],
        )


def _superuser():
    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"email": "bench-admin@example.com", "is_staff": True, "is_superuser": True}
    )
    return user


if __name__ == "__main__":
    settings.DEBUG = False
    main()
