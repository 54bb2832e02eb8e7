"""Stress test with invariants: real servers, real workers, one PostgreSQL, many clients racing on the same rows.

    .venv/bin/python bench/stress.py --quick      # CI: about 25 s in all
    .venv/bin/python bench/stress.py              # full: about 2.5 minutes

A fresh database (`--database`, default shop_stress, on the server of DATABASE_URL, default postgres://localhost/)
is created and migrated, with a small catalog (5 products x 20 units; 5 x 8 with --quick) and a staff user. Then,
all on 127.0.0.1:

- two gunicorn servers (`gunicorn config.wsgi -c config/gunicorn.conf.py`, DEBUG off, each WEB_CONCURRENCY=2),
  two task workers (`manage.py db_worker`) and one scheduler (`manage.py run_scheduler`, which reconciles
  payments older than PAYMENT_RECONCILE_AFTER_SECONDS=1 while the traffic runs);
- the fake gateway fails 10 % of charges (FAKE_GATEWAY_ERROR_RATE) and loses the answer of another 10 %
  (FAKE_GATEWAY_TIMEOUT_RATE: charged, the payment stays PROCESSING until reconciled), with a small latency;
- asyncio clients (httpx) spread over both servers place guest orders for the scarce products (a staff restock
  puts a few units back after a product sells out, so buyers race for the last units again and again), then,
  on each order, race several process-payment calls with the guest's token (some sharing an Idempotency-Key,
  some with a stale If-Match), a cancel, and staff refunds (partial and full, with and without restock),
  cancels and completes over the API with a JWT.

When the time is up the servers are stopped (SIGTERM, in-flight requests finish), `manage.py reconcile_payments
--older-than 0` runs until nothing is PROCESSING or PENDING, the workers drain the task queue and stop, and
`bench/invariants.py` checks the database. Each invariant is printed with its number of violations; the exit
status is 1 if any is not zero (or a server answered 500), 0 otherwise. Logs and result.json go to
bench/results/stress-<mode>-<time>/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
STAFF_EMAIL = "stress-staff@example.com"
STAFF_PASSWORD = "stress-staff-password-1"  # a throwaway account in a throwaway database
GUEST_EMAILS = [f"buyer{n}@stress.example.com" for n in range(6)]  # few: checkouts race to create the same guest
# (token, weight): what the payers type. Chaos (errors, lost answers) applies to the successful ones.
PAY_TOKENS = [
    ("tok_visa", 70),
    ("tok_decline", 7),
    ("tok_insufficient_funds", 3),
    ("tok_refund_timeout", 10),  # charged; its refunds lose their answer (PENDING until reconciled)
    ("tok_refund_decline", 10),  # charged; its refunds are refused by the provider (502)
]
PRICES = ["19.99", "45.50", "120.00", "7.25", "310.00", "64.10", "88.88", "5.05"]


@dataclass(frozen=True)
class Profile:
    name: str
    duration: float  # seconds during which new orders are placed; stories already running finish afterwards
    shoppers: int  # concurrent clients, each placing an order and then playing out its races
    products: int = 5
    units: int = 20
    restock_units: int = 5  # a staff restock when a product has sold out...
    restocks: int = 3  # ...at most this many times per product
    web_concurrency: int = 2
    threads: int = 4
    workers: int = 2
    schedulers: int = 1
    latency_ms: int = 20
    error_rate: float = 0.1
    timeout_rate: float = 0.1
    settle_wait: float = 4.0  # how long a client waits for the scheduler to settle a lost payment answer
    drain_timeout: float = 30.0


QUICK = Profile("quick", duration=10, shoppers=16, units=8, restock_units=3, restocks=2)
FULL = Profile("full", duration=120, shoppers=24, restocks=30, drain_timeout=90)


# --- Processes ----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url_with_name(base_url: str, name: str) -> str:
    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(name), parts.query, ""))


def database_url_from_settings(database: dict) -> str:
    """postgres://USER:PASSWORD@HOST:PORT/NAME for the settings of one Django database."""
    credentials = quote(database.get("USER") or "", safe="")
    if database.get("PASSWORD"):
        credentials += ":" + quote(database["PASSWORD"], safe="")
    host = database.get("HOST") or "localhost"
    netloc = (
        (credentials + "@" if credentials else "") + host + (f":{database['PORT']}" if database.get("PORT") else "")
    )
    return f"postgres://{netloc}/{quote(database['NAME'])}"


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    log: Path


class Cluster:
    """The processes of one run, each started here and stopped here by its pid (SIGTERM, then SIGKILL)."""

    def __init__(self, env: dict[str, str], log_dir: Path):
        self.env = env
        self.log_dir = log_dir
        self.children: list[Child] = []
        self.server_urls: list[str] = []

    def start(self, name: str, argv: list[str], **extra_env: str) -> Child:
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                argv, cwd=ROOT, env={**self.env, **extra_env}, stdout=out, stderr=subprocess.STDOUT
            )
        child = Child(name, process, log)
        self.children.append(child)
        return child

    def start_all(self, profile: Profile, servers: int = 2) -> None:
        gunicorn = Path(PYTHON).with_name("gunicorn")
        server_argv = [str(gunicorn)] if gunicorn.exists() else [PYTHON, "-m", "gunicorn"]
        for n in range(1, servers + 1):
            port = free_port()
            self.start(
                f"server-{n}",
                # Without --no-control-socket both servers (and any other gunicorn of this user) would share
                # gunicorn 27's default control socket, ~/.gunicorn/gunicorn.ctl.
                [*server_argv, "config.wsgi", "-c", "config/gunicorn.conf.py", "--no-control-socket"],
                BIND=f"127.0.0.1:{port}",
                WEB_CONCURRENCY=str(profile.web_concurrency),
                GUNICORN_THREADS=str(profile.threads),
            )
            self.server_urls.append(f"http://127.0.0.1:{port}")
        for n in range(1, profile.workers + 1):
            self.start(f"worker-{n}", [PYTHON, "manage.py", "db_worker", "--queue-name", "default", "--no-reload"])
        for n in range(1, profile.schedulers + 1):
            self.start(f"scheduler-{n}", [PYTHON, "manage.py", "run_scheduler", "--interval", "1"])

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        pending = list(self.server_urls)
        while pending:
            self.ensure_running()
            url = pending[0]
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    pending.pop(0)
                    continue
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} not ready after {timeout:.0f} s; see {self.log_dir}")
            time.sleep(0.1)

    def ensure_running(self) -> None:
        for child in self.children:
            if child.process.poll() is not None:
                tail = child.log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{child.name} exited with {child.process.returncode}:\n{tail}")

    def stop(self, prefix: str = "", timeout: float = 30.0) -> None:
        """SIGTERM to each matching child (gunicorn finishes its requests, workers their task), then wait."""
        chosen = [child for child in self.children if child.name.startswith(prefix)]
        for child in chosen:
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        for child in chosen:
            try:
                child.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait(timeout=10)
            self.children.remove(child)


def child_env(profile: Profile, database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="False",
        # The API serves no static files; without a collectstatic manifest nothing depends on one.
        STATIC_MANIFEST="False",
        PYTHONUNBUFFERED="1",
        CONN_MAX_AGE="60",
        FAKE_GATEWAY_LATENCY_MS=str(profile.latency_ms),
        FAKE_GATEWAY_ERROR_RATE=str(profile.error_rate),
        FAKE_GATEWAY_TIMEOUT_RATE=str(profile.timeout_rate),
        PAYMENT_RECONCILE_AFTER_SECONDS="1",
    )
    return env


# --- Data (Django, in this process) -----------------------------------------------------------------


def setup_catalog(profile: Profile, *, record: bool = True) -> dict[int, int]:
    """The scarce catalog and the staff user; returns each product's initial stock, also stored in the database
    (`bench_initial_stock`, for `bench/invariants.py` run later on its own) when `record`."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    from bench.invariants import record_initial_stock
    from shop.models import Product

    skus = [f"STRESS-{n + 1}" for n in range(profile.products)]
    for n, sku in enumerate(skus):
        Product.objects.update_or_create(
            sku=sku,
            defaults={
                "name": f"Scarce thing {n + 1}",
                "price": Decimal(PRICES[n % len(PRICES)]),
                "stock": profile.units,
            },
        )
    # Hashed explicitly with Django's default hasher: the servers check it with their own settings (the test
    # suite's settings use a faster hasher the servers do not know).
    hasher = PBKDF2PasswordHasher()
    user, _ = get_user_model().objects.update_or_create(
        username=STAFF_EMAIL,
        defaults={"email": STAFF_EMAIL, "is_staff": True, "is_active": True},
    )
    user.password = hasher.encode(STAFF_PASSWORD, hasher.salt())
    user.save(update_fields=["password"])
    if record:
        return record_initial_stock()
    return dict(Product.objects.filter(sku__in=skus).values_list("pk", "stock"))


def reconcile_until_settled(env: dict[str, str], log_dir: Path, attempts: int = 10) -> int:
    """`manage.py reconcile_payments --older-than 0` until nothing is PROCESSING or PENDING; returns the rounds."""
    from shop.models import Order, Payment, Refund

    for round_number in range(1, attempts + 1):
        with (log_dir / "reconcile.log").open("ab") as out:
            subprocess.run(
                [PYTHON, "manage.py", "reconcile_payments", "--older-than", "0"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=True,
                timeout=300,
            )
        in_flight = (
            Payment.objects.filter(status=Payment.Status.PROCESSING).exists()
            or Order.objects.filter(status=Order.Status.PROCESSING).exists()
            or Refund.objects.filter(status=Refund.Status.PENDING).exists()
        )
        if not in_flight:
            return round_number
    return attempts


def drain_tasks(timeout: float) -> int:
    """Wait until no task is ready or running (the workers caught up); returns how many are left."""
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    deadline = time.monotonic() + timeout
    while True:
        left = DBTaskResult.objects.filter(status__in=["READY", "RUNNING"], run_after__lte=timezone.now()).count()
        left += DBTaskResult.objects.filter(status__in=["READY", "RUNNING"], run_after__isnull=True).count()
        if left == 0 or time.monotonic() > deadline:
            return left
        time.sleep(0.5)


def database_stats() -> dict:
    """What happened, from the database: the evidence that the run really raced and the chaos really struck."""
    from django.db.models import Count
    from django_tasks_db.models import DBTaskResult

    from shop.models import IdempotencyKey, Order, OrderEvent, Payment, Product, Refund, SandboxTransaction
    from shop.models.catalog import StockAdjustment

    def by(model, name="status"):
        return dict(model.objects.values_list(name).annotate(n=Count("pk")).order_by(name))

    events = OrderEvent.objects
    return {
        "orders": by(Order),
        "payments": by(Payment),
        "refunds": by(Refund),
        "events": events.count(),
        "charges_at_gateway": dict(
            SandboxTransaction.objects.filter(kind="CHARGE")
            .values_list("scenario")
            .annotate(n=Count("pk"))
            .order_by("scenario")
        ),
        "refunds_at_gateway": SandboxTransaction.objects.filter(kind="REFUND").count(),
        "payments_failed_by_gateway_error": events.filter(
            kind="payment.failed", data__decline_code="gateway_error"
        ).count(),
        "payment_answers_lost": events.filter(kind="payment.outcome_unknown").count(),
        "settled_by_reconciliation": events.filter(
            kind__in=["payment.succeeded", "payment.failed", "refund.succeeded", "refund.failed", "order.cancelled"],
            actor_label="reconciliation",
        ).count(),
        "stock_releases": events.filter(data__stock_released=True).count()
        + events.filter(data__restocked=True).count(),
        "restocks": StockAdjustment.objects.count(),
        "final_stock": dict(Product.objects.values_list("sku", "stock").order_by("sku")),
        "tasks": by(DBTaskResult),
        "idempotency_keys_running": IdempotencyKey.objects.filter(state="RUNNING").count(),
    }


# --- The clients ---------------------------------------------------------------------------------------


@dataclass
class Placed:
    id: int
    token: str
    total: Decimal
    version: int


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_DOWN))


class Traffic:
    """The clients: `shoppers` coroutines, each placing an order and then racing on it, until the deadline."""

    def __init__(self, profile: Profile, urls: list[str], skus: list[str], seed: int | None):
        self.profile = profile
        self.urls = urls
        self.skus = skus
        self.rng = random.Random(seed)
        self.responses: Counter = Counter()  # (action, status, error code)
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.replayed = 0
        self.sold_out_seen: Counter = Counter()  # product id -> times the restocker saw it at 0
        self.restocked: Counter = Counter()
        self.staff_headers: dict[str, str] = {}
        self.deadline = 0.0
        self.stopping = False
        self.clients: list[httpx.AsyncClient] = []
        self.started = self.finished = 0.0

    # requests

    async def request(self, action: str, method: str, path: str, *, headers=None, body=None) -> httpx.Response | None:
        client = self.rng.choice(self.clients)
        started = time.monotonic()
        try:
            response = await client.request(method, path, headers=headers, json=body)
        except httpx.HTTPError as error:
            self.responses[(action, "transport", type(error).__name__)] += 1
            return None
        self.latencies[action].append(time.monotonic() - started)
        code = ""
        if response.status_code >= 400:
            try:
                code = response.json()["error"]["code"]
            except (ValueError, KeyError, TypeError):
                code = "?"
        if response.headers.get("Idempotent-Replayed") == "true":
            self.replayed += 1
        self.responses[(action, response.status_code, code)] += 1
        return response

    def guest(self, order: Placed, **headers: str) -> dict[str, str]:
        return {"X-Order-Token": order.token, **headers}

    async def place_order(self) -> Placed | None:
        rng = self.rng
        skus = rng.sample(self.skus, rng.choice([1, 1, 2]))
        body = {
            "customer_email": rng.choice(GUEST_EMAILS),
            "customer_name": "Stress Buyer",
            "shipping_address": "1 Race Street, 127.0.0.1",
            "shipping_cost": rng.choice(["0.00", "4.99"]),
            "payment_method": "CREDIT_CARD",
            "items": [{"product_sku": sku, "quantity": rng.choice([1, 1, 1, 2, 3])} for sku in skus],
        }
        response = await self.request("create", "POST", "/api/v1/orders/", body=body)
        if response is None or response.status_code != 201:
            return None
        data = response.json()
        return Placed(data["id"], data["access_token"], Decimal(data["total"]), data["version"])

    async def pay(self, order: Placed, token: str, *, key: str | None = None, delay: float = 0.0):
        await asyncio.sleep(delay)
        headers = self.guest(order, **({"Idempotency-Key": key} if key else {}))
        path = f"/api/v1/orders/{order.id}/process-payment/"
        return await self.request("pay", "POST", path, headers=headers, body={"payment_token": token})

    async def cancel(self, order: Placed, *, staff: bool = False, if_match: int | None = None, delay: float = 0.0):
        await asyncio.sleep(delay)
        headers = dict(self.staff_headers) if staff else self.guest(order)
        if if_match is not None:
            headers["If-Match"] = f'"{if_match}"'
        body = {"reason": "stress: changed my mind"}
        return await self.request("cancel", "POST", f"/api/v1/orders/{order.id}/cancel/", headers=headers, body=body)

    async def refund(self, order: Placed, *, amount: Decimal | None = None, restock: bool = False, delay=0.0):
        await asyncio.sleep(delay)
        body = {"reason": "stress", "restock": restock}
        if amount is not None:
            body["amount"] = _money(amount)
        path = f"/api/v1/orders/{order.id}/refund/"
        return await self.request("refund", "POST", path, headers=self.staff_headers, body=body)

    async def complete(self, order: Placed, delay: float = 0.0):
        await asyncio.sleep(delay)
        path = f"/api/v1/orders/{order.id}/complete/"
        return await self.request("complete", "POST", path, headers=self.staff_headers, body={})

    async def read(self, order: Placed) -> dict | None:
        response = await self.request("read", "GET", f"/api/v1/orders/{order.id}/", headers=self.guest(order))
        return response.json() if response is not None and response.status_code == 200 else None

    async def settled(self, order: Placed) -> dict | None:
        """The order once no payment is in flight: a lost answer is settled by the scheduler's reconciliation."""
        give_up = time.monotonic() + self.profile.settle_wait
        while True:
            state = await self.read(order)
            if state is None or state["status"] != "PROCESSING" or time.monotonic() > give_up:
                return state
            await asyncio.sleep(0.4)

    # stories

    def token(self) -> str:
        tokens, weights = zip(*PAY_TOKENS, strict=True)
        return self.rng.choices(tokens, weights)[0]

    async def shopper(self) -> None:
        while time.monotonic() < self.deadline:
            order = await self.place_order()
            if order is None:  # sold out (or refused): try again in a moment, as shoppers do
                await asyncio.sleep(self.rng.uniform(0.05, 0.2))
                continue
            await self.order_story(order)

    async def order_story(self, order: Placed) -> None:
        rng = self.rng
        token = self.token()
        key = str(uuid.uuid4()) if rng.random() < 0.25 else None
        racers = []
        for n in range(rng.randint(2, 4)):
            shared = key is not None and n < 2  # a double click: the same key and body, sent to either server
            same_token = shared or n == 0 or rng.random() < 0.7
            racers.append(
                self.pay(order, token if same_token else self.token(), key=key if shared else None, delay=n * 0.002)
            )
        if rng.random() < 0.2:
            racers.append(self.cancel(order, delay=rng.uniform(0, 0.03)))
        if rng.random() < 0.1:
            racers.append(self.cancel(order, if_match=order.version))  # the version seen at checkout
        await asyncio.gather(*racers)
        state = await self.settled(order)
        if state is None:
            return
        if state["status"] == "FAILED" and rng.random() < 0.6:
            # Declined: pay again (a new attempt), two tabs at once, maybe racing a cancel.
            racers = [self.pay(order, "tok_visa"), self.pay(order, self.token(), delay=0.003)]
            if rng.random() < 0.3:
                racers.append(self.cancel(order, staff=rng.random() < 0.5))
            await asyncio.gather(*racers)
            state = await self.settled(order)
            if state is None:
                return
        if state["status"] == "CONFIRMED":
            await self.staff_story(order, state)
        elif state["status"] in ("PENDING", "FAILED") and rng.random() < 0.5:
            await self.cancel(order, staff=rng.random() < 0.3)

    async def staff_story(self, order: Placed, state: dict) -> None:
        rng = self.rng
        total = Decimal(state["total"])
        third = total / 3 + Decimal("0.01")  # four of these are more than the total
        version = state["version"]
        pattern = rng.choices(
            ["partials", "full_vs_cancel", "partial_vs_cancel", "complete_vs_refund", "double_full", "stale", "keep"],
            [3, 2, 2, 2, 2, 1, 2],
        )[0]
        jitter = lambda: rng.uniform(0, 0.01)  # noqa: E731
        racers = {
            "partials": lambda: [self.refund(order, amount=third, delay=jitter()) for _ in range(4)],
            "full_vs_cancel": lambda: [
                self.refund(order, restock=rng.random() < 0.5),
                self.cancel(order, delay=jitter()),
                self.cancel(order, staff=True, delay=jitter()),
            ],
            "partial_vs_cancel": lambda: [self.refund(order, amount=total / 2), self.cancel(order, delay=jitter())],
            "complete_vs_refund": lambda: [
                self.complete(order),
                self.refund(order, restock=True, delay=jitter()),
                self.refund(order, amount=third, delay=jitter()),
            ],
            "double_full": lambda: [self.refund(order), self.refund(order, restock=True, delay=jitter())],
            "stale": lambda: [self.refund(order, amount=third), self.cancel(order, if_match=version - 1)],
            "keep": lambda: [self.complete(order)] if rng.random() < 0.5 else [],
        }[pattern]()
        await asyncio.gather(*racers)
        if rng.random() < 0.4:
            # Later: what is left, refunded or cancelled, possibly while a refund's answer is still lost.
            await asyncio.sleep(rng.uniform(0, 1.5))
            await asyncio.gather(self.refund(order, restock=True), self.cancel(order, delay=jitter()))

    async def restocker(self) -> None:
        """Staff put a few units back some time after a product sells out (through the shop's service, locked)."""
        zero_since: dict[int, float] = {}
        while not self.stopping:
            await asyncio.sleep(0.25)
            stock = await asyncio.to_thread(_stock_levels)
            now = time.monotonic()
            for product_id, units in stock.items():
                if units > 0:
                    zero_since.pop(product_id, None)
                    continue
                self.sold_out_seen[product_id] += 1
                since = zero_since.setdefault(product_id, now)
                if now - since > 0.75 and self.restocked[product_id] < self.profile.restocks and now < self.deadline:
                    await asyncio.to_thread(_restock, product_id, self.profile.restock_units)
                    self.restocked[product_id] += 1
                    zero_since.pop(product_id, None)

    async def run(self) -> None:
        login = {"email": STAFF_EMAIL, "password": STAFF_PASSWORD}
        # Idle connections are dropped before gunicorn's keepalive (5 s) closes them, so that a request is never
        # sent on a connection the server is closing at that very moment (a ReadError, outcome unknown).
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50, keepalive_expiry=2.0)
        self.clients = [httpx.AsyncClient(base_url=url, timeout=60, limits=limits) for url in self.urls]
        try:
            response = await self.clients[0].post("/api/v1/auth/login/", json=login)
            response.raise_for_status()
            self.staff_headers = {"Authorization": f"Bearer {response.json()['access']}"}
            self.started = time.monotonic()
            self.deadline = self.started + self.profile.duration
            restocker = asyncio.create_task(self.restocker())
            await asyncio.gather(*(self.shopper() for _ in range(self.profile.shoppers)))
            self.stopping = True
            await restocker
            self.finished = time.monotonic()
        finally:
            for client in self.clients:
                await client.aclose()

    def summary(self) -> dict:
        by_action: dict[str, Counter] = defaultdict(Counter)
        for (action, status, code), count in self.responses.items():
            by_action[action][f"{status} {code}".strip()] += count
        timings = {}
        for action, values in self.latencies.items():
            values = sorted(values)
            timings[action] = {
                "requests": len(values),
                "p50_ms": round(statistics.median(values) * 1000, 1),
                "p95_ms": round(values[int(len(values) * 0.95) - 1 if len(values) > 1 else 0] * 1000, 1),
            }
        total = sum(self.responses.values())
        seconds = max(self.finished - self.started, 1e-9)
        return {
            "requests": total,
            "seconds": round(seconds, 1),
            "requests_per_second": round(total / seconds, 1),
            "responses": {action: dict(sorted(counts.items())) for action, counts in sorted(by_action.items())},
            "latency": timings,
            "replayed": self.replayed,
            "products_seen_sold_out": len(self.sold_out_seen),
            "restocks": sum(self.restocked.values()),
        }


def _stock_levels() -> dict[int, int]:
    from django.db import connections

    from shop.models import Product

    try:
        return dict(Product.objects.filter(sku__startswith="STRESS-").values_list("pk", "stock"))
    finally:
        connections.close_all()  # this thread's connections only


def _restock(product_id: int, units: int) -> None:
    from django.db import connections

    from shop.services.catalog import adjust_stock

    try:
        adjust_stock(product_id=product_id, delta=units, reason="stress: restocked after selling out")
    finally:
        connections.close_all()


# --- One run -------------------------------------------------------------------------------------------


@dataclass
class Result:
    profile: Profile
    invariants: list
    traffic: dict
    database: dict
    phases: dict[str, float] = field(default_factory=dict)
    reconcile_rounds: int = 0
    tasks_left: int = 0
    server_errors: int = 0
    responses: Counter = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return all(invariant.ok for invariant in self.invariants) and self.server_errors == 0

    def answered(self, action: str, status: int | str, code: str | None = None) -> int:
        """How many `action` requests got `status` (and error `code`, if given)."""
        return sum(n for (a, s, c), n in self.responses.items() if a == action and s == status and code in (None, c))

    def as_dict(self) -> dict:
        return {
            "profile": asdict(self.profile),
            "ok": self.ok,
            "invariants": [invariant.as_dict() for invariant in self.invariants],
            "server_errors": self.server_errors,
            "phases_seconds": self.phases,
            "reconcile_rounds": self.reconcile_rounds,
            "tasks_left": self.tasks_left,
            "traffic": self.traffic,
            "database": self.database,
        }


def run(
    profile: Profile,
    *,
    database_url: str,
    log_dir: Path,
    seed: int | None = None,
    record_initial_stock: bool = True,
    say: Callable[[str], None] = print,
) -> Result:
    """One stress run against the database Django is set up with (which `database_url` must name too)."""
    from bench.invariants import check

    for name in ("httpx", "httpcore"):  # one log line per request otherwise
        logging.getLogger(name).setLevel(logging.WARNING)
    log_dir.mkdir(parents=True, exist_ok=True)
    phases: dict[str, float] = {}
    mark = time.monotonic()

    def phase(name: str) -> None:
        nonlocal mark
        now = time.monotonic()
        phases[name] = round(now - mark, 2)
        mark = now

    initial_stock = setup_catalog(profile, record=record_initial_stock)
    from shop.models import Product

    products = list(Product.objects.filter(pk__in=initial_stock).order_by("pk"))
    phase("catalog")
    env = child_env(profile, database_url)
    cluster = Cluster(env, log_dir)
    traffic = Traffic(profile, [], [p.sku for p in products], seed)
    try:
        cluster.start_all(profile)
        cluster.wait_ready()
        phase("start")
        say(
            f"servers {', '.join(cluster.server_urls)}, {profile.workers} workers, {profile.schedulers} scheduler(s); "
            f"{profile.shoppers} clients for {profile.duration:.0f} s"
        )
        traffic.urls = cluster.server_urls
        asyncio.run(traffic.run())
        phase("traffic")
        cluster.ensure_running()
        cluster.stop("server-")
        phase("stop servers")
        rounds = reconcile_until_settled(env, log_dir)
        phase("reconcile")
        cluster.stop("scheduler-")
        tasks_left = drain_tasks(profile.drain_timeout)
        cluster.stop("worker-")
        phase("drain tasks, stop workers")
    finally:
        cluster.stop()
    invariants = check(initial_stock=initial_stock)
    phase("check")
    server_errors = sum(n for (_, status, _), n in traffic.responses.items() if status in (500, 503, 504))
    result = Result(
        profile=profile,
        invariants=invariants,
        traffic=traffic.summary(),
        database=database_stats(),
        phases=phases,
        reconcile_rounds=rounds,
        tasks_left=tasks_left,
        server_errors=server_errors,
        responses=traffic.responses,
    )
    (log_dir / "result.json").write_text(json.dumps(result.as_dict(), indent=2, default=str))
    return result


def report(result: Result) -> str:
    from bench.invariants import summary

    t, db = result.traffic, result.database
    lines = [
        f"traffic: {t['requests']} requests in {t['seconds']} s ({t['requests_per_second']}/s), "
        f"{t['replayed']} idempotent replays, {t['products_seen_sold_out']} product(s) seen sold out, "
        f"{t['restocks']} restock(s)",
    ]
    for action, counts in t["responses"].items():
        latency = t["latency"].get(action, {})
        answers = ", ".join(f"{answer}: {n}" for answer, n in counts.items())
        lines.append(
            f"  {action:9} p50 {latency.get('p50_ms', 0):6.1f} ms  p95 {latency.get('p95_ms', 0):7.1f} ms  {answers}"
        )
    lines += [
        f"orders {db['orders']}",
        f"payments {db['payments']}",
        f"refunds {db['refunds']}",
        f"gateway: charges {db['charges_at_gateway']}, refunds {db['refunds_at_gateway']}; "
        f"{db['payments_failed_by_gateway_error']} payments failed by injected errors, "
        f"{db['payment_answers_lost']} answers lost, {db['settled_by_reconciliation']} settled by reconciliation",
        f"stock: {db['stock_releases']} releases, {db['restocks']} restocks, final {db['final_stock']}",
        f"tasks {db['tasks']} ({result.tasks_left} left undone); idempotency keys still running: "
        f"{db['idempotency_keys_running']}; final reconciliation rounds: {result.reconcile_rounds}",
        "phases (s): " + ", ".join(f"{name} {seconds}" for name, seconds in result.phases.items()),
        "",
        "invariants (violations must be 0):",
        summary(result.invariants),
        f"{'ok  ' if not result.server_errors else 'FAIL'} no server errors (HTTP 500/503/504): {result.server_errors}",
    ]
    return "\n".join(lines)


# --- The command line ------------------------------------------------------------------------------------


def _fresh_database(base_url: str, name: str) -> str:
    import psycopg
    from psycopg import sql

    if "stress" not in name:
        raise SystemExit(f"Refusing to drop and recreate {name!r}: the stress database's name must contain 'stress'.")
    maintenance = urlunsplit(("postgresql", urlsplit(base_url).netloc, "/postgres", "", ""))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return database_url_with_name(base_url, name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the CI version: about 25 s in all")
    parser.add_argument("--duration", type=float, help="seconds of traffic (default: 10 quick, 120 full)")
    parser.add_argument("--shoppers", type=int, help="concurrent clients (default: 16 quick, 24 full)")
    parser.add_argument("--latency-ms", type=int, help="the fake gateway's latency (default 20)")
    parser.add_argument("--error-rate", type=float, help="share of charges the fake gateway fails (default 0.1)")
    parser.add_argument("--timeout-rate", type=float, help="share of charges whose answer is lost (default 0.1)")
    parser.add_argument("--schedulers", type=int, help="run_scheduler processes during the traffic (default 1)")
    parser.add_argument(
        "--database", default="shop_stress", help="the database to (re)create; its name must contain 'stress'"
    )
    parser.add_argument("--seed", type=int, help="seed of the clients' choices")
    parser.add_argument("--log-dir", type=Path, help="default: bench/results/stress-<mode>-<time>/")
    args = parser.parse_args(argv)

    started = time.monotonic()
    profile = QUICK if args.quick else FULL
    options = ("duration", "shoppers", "latency_ms", "error_rate", "timeout_rate", "schedulers")
    overrides = {name: getattr(args, name) for name in options if getattr(args, name) is not None}
    if overrides:
        profile = Profile(**{**asdict(profile), **overrides})
    log_dir = args.log_dir or ROOT / "bench" / "results" / f"stress-{profile.name}-{time.strftime('%Y%m%d-%H%M%S')}"

    base_url = os.environ.get("DATABASE_URL") or "postgres://localhost/"
    if not base_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(f"The stress test needs PostgreSQL; DATABASE_URL is {base_url!r}.")
    database_url = _fresh_database(base_url, args.database)
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops the children

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(
        f"stress ({profile.name}): database {args.database} created and migrated in {time.monotonic() - started:.1f} s"
    )
    result = run(profile, database_url=database_url, log_dir=log_dir, seed=args.seed)
    print(report(result))
    print(f"logs and result.json in {log_dir}")
    print(f"{'PASS' if result.ok else 'FAIL'}: wall time {time.monotonic() - started:.1f} s")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
