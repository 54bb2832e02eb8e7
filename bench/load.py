"""The shop under load: orders per second, latency and errors through the production server, against the ceiling
PostgreSQL alone sets, and what each order costs.

    .venv/bin/python bench/load.py                # full: 1, 8, 32 and 128 clients, 20 s each (about 6 minutes)
    .venv/bin/python bench/load.py --quick        # CI: 1 and 8 clients, a few seconds each (well under a minute)
    .venv/bin/python bench/load.py --compare      # server configurations side by side (workers x threads, pool, ASGI)

One run: (re)create the database `shop_loadbench` on the local PostgreSQL (--database-url), migrate, load the demo
catalog with stock enough for any run, collectstatic into a temporary STATIC_ROOT; place a few orders in-process to
capture the SQL of one order (queries per order, time in SQL, the pgbench script); start the production server
(gunicorn with config/gunicorn.conf.py, DEBUG off) on a free port of 127.0.0.1 and wait for /readyz; drive it with
N concurrent shoppers, each with its own keep-alive connection and cookies, through two flows:

- api: POST /api/v1/orders/ (the seed's guest order: LAP-001 and MOU-001), then POST .../process-payment/ with the
  order's access token; an order counts when both succeed (201 then 200, CONFIRMED).
- storefront: GET / (catalog), add both products to the cart (htmx POSTs with the CSRF token), GET /checkout/
  (one-time checkout key and CSRF token from the form), POST /checkout/; an order counts on the 302 to its
  private page and that page showing Confirmed.

Each level warms up, then measures for --duration seconds: orders per second, p50/p95/p99 latency of a whole
order and of each request type, errors by kind, CPU per order (from /proc) of the server's processes, of the bench
database's PostgreSQL backends and of this client, the machine's other load, and how many backends wait for row
locks. Then the server is stopped (SIGTERM) and the captured order is replayed by pgbench at the same concurrency
(bench/results/last-order-<flow>.pgbench.sql): the database ceiling, and the shop's share of it. Results are
printed and written as JSON to bench/results/. Traffic goes to 127.0.0.1 only; every loop is bounded in time and
count. `--server gunicorn:4x4:pool` (or `:persistent`, `:per-request`; `uvicorn:4:pool`) picks the configuration.
"""

import argparse
import asyncio
import contextlib
import io
import json
import math
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from load_client import RequestFailed, Session  # noqa: E402

RESULTS_DIR = BASE_DIR / "bench" / "results"
DEFAULT_DATABASE_URL = "postgres://127.0.0.1:5432/shop_loadbench"
HOST = "127.0.0.1"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MAX_ORDERS_PER_CLIENT = 100_000  # a bound on every shopper's loop, besides the clock


@dataclass(frozen=True)
class ServerConfig:
    """How the shop is served: gunicorn (gthread) or uvicorn (ASGI) processes, threads each, and how Django holds
    its PostgreSQL connections: `pool` (DATABASE_POOL=True), `persistent` (CONN_MAX_AGE=60) or `per-request`."""

    server: str = "gunicorn"
    workers: int = 2
    threads: int = 8
    db: str = "persistent"

    @property
    def label(self) -> str:
        shape = f"{self.workers} workers" if self.server == "uvicorn" else f"{self.workers}x{self.threads}"
        return f"{self.server} {shape} {self.db}"

    @classmethod
    def parse(cls, text: str) -> "ServerConfig":
        """`gunicorn:2x8:persistent`, `uvicorn:2:pool`."""
        server, shape, db = text.split(":")
        workers, _, threads = shape.partition("x")
        return cls(server=server, workers=int(workers), threads=int(threads or 8), db=db)

    def environment(self) -> dict:
        env = {"WEB_CONCURRENCY": str(self.workers), "GUNICORN_THREADS": str(self.threads)}
        if self.db == "pool":
            # The shop's pool sizes (2 to 8), with room for every thread when there are more than 8.
            env |= {"DATABASE_POOL": "True", "DATABASE_POOL_MAX_SIZE": str(max(8, self.threads))}
        else:
            env |= {"DATABASE_POOL": "False", "CONN_MAX_AGE": "60" if self.db == "persistent" else "0"}
        return env


# Chosen by `--compare` on the 2-core machine (the README's Performance section has the figures): `make serve`'s
# defaults (2 x cores workers, 4 threads) with the connection pool, as "Running at scale" configures production.
DEFAULT_CONFIG = ServerConfig("gunicorn", 4, 4, "pool")
COMPARED_CONFIGS = [
    "gunicorn:4x4:per-request",  # config/gunicorn.conf.py's defaults on 2 cores, Django's default connections
    "gunicorn:4x4:persistent",
    "gunicorn:4x4:pool",
    "gunicorn:2x4:persistent",
    "gunicorn:2x8:persistent",
    "gunicorn:2x8:pool",
    "gunicorn:4x8:persistent",
    "uvicorn:2:pool",
    "uvicorn:4:pool",
]


# --- Measuring CPU ------------------------------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, list[str]] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), fields  # parent pid, fields from `state` on


def _cpu(fields: list[str], children: bool = True) -> float:
    """utime + stime (+ cutime + cstime: the time of children already reaped), in seconds."""
    return sum(int(value) for value in fields[11 : 15 if children else 13]) / CLOCK_TICKS


def _children() -> dict[int, list[int]]:
    children = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat:
                children[stat[0]].append(int(entry.name))
    return children


def tree_cpu_seconds(root: int | None, children: dict | None = None) -> float | None:
    """CPU time of a process and all its descendants, the ones already reaped included, from /proc."""
    if root is None or _stat(root) is None:
        return None
    children = _children() if children is None else children
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        stat = _stat(pid)
        if stat:
            total += _cpu(stat[1])
        todo += children.get(pid, [])
    return total


def database_backends_cpu(postmaster: int | None, database: str, children: dict) -> dict[int, float] | None:
    """CPU time of each PostgreSQL backend connected to `database` (process titles name the database)."""
    if postmaster is None:
        return None
    backends = {}
    for pid in children.get(postmaster, []):
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        stat = _stat(pid)
        if stat and f" {database} " in title:
            backends[pid] = _cpu(stat[1], children=False)
    return backends


def machine_busy_seconds() -> float:
    """CPU time all cores spent not idle (nor waiting on I/O) since boot, from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def snapshot(server_pid: int | None, postmaster: int | None, database: str) -> dict:
    children = _children()
    times = os.times()
    workers = {pid: tree_cpu_seconds(pid, children) for pid in children.get(server_pid, [])} if server_pid else {}
    return {
        "server": tree_cpu_seconds(server_pid, children),
        "server_workers": workers,
        "postgresql": database_backends_cpu(postmaster, database, children),
        "postgresql_cluster": tree_cpu_seconds(postmaster, children),
        "client": times.user + times.system,
        "client_children": times.children_user + times.children_system,
        "machine": machine_busy_seconds(),
        "at": time.perf_counter(),
    }


def background_load(seconds: float = 1.0) -> float:
    """Share of all cores busy with other work while this benchmark sits idle."""
    before = machine_busy_seconds()
    time.sleep(seconds)
    return (machine_busy_seconds() - before) / seconds / os.cpu_count()


def cpu_delta(before: dict, after: dict, key: str) -> float | None:
    """Seconds of CPU between two snapshots; for the database's backends, those born in between count from 0
    (a backend that exited in between is missed: with per-request connections, read the cluster's figure)."""
    if before.get(key) is None or after.get(key) is None:
        return None
    if isinstance(after[key], dict):
        return sum(seconds - before[key].get(pid, 0.0) for pid, seconds in after[key].items())
    return after[key] - before[key]


class ActivitySampler(threading.Thread):
    """Samples pg_stat_activity of the bench database ten times a second: how many backends are running a
    statement, how many of those wait for a lock (the hot product rows), how many sit idle in a transaction."""

    QUERY = (
        "SELECT count(*) FILTER (WHERE state = 'active'), count(*) FILTER (WHERE wait_event_type = 'Lock'),"
        " count(*) FILTER (WHERE state LIKE 'idle in transaction%') FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )

    def __init__(self, database_url: str, limit_seconds: float):
        super().__init__(daemon=True)
        self.database_url, self.limit_seconds = database_url, limit_seconds
        self.samples: list[tuple[int, int, int]] = []
        self.halt = threading.Event()

    def run(self):
        import psycopg

        deadline = time.monotonic() + self.limit_seconds
        try:
            with psycopg.connect(self.database_url, autocommit=True) as sampler:
                while not self.halt.is_set() and time.monotonic() < deadline:
                    self.samples.append(sampler.execute(self.QUERY).fetchone())
                    self.halt.wait(0.1)
        except psycopg.Error:
            pass

    def stop(self) -> dict:
        self.halt.set()
        self.join(timeout=5)
        count = len(self.samples) or 1
        active, waiting, idle_in_transaction = (
            sum(column) / count for column in zip(*self.samples or [(0, 0, 0)], strict=True)
        )
        return {
            "active": round(active, 2),
            "waiting_on_locks": round(waiting, 2),
            "idle_in_transaction": round(idle_in_transaction, 2),
            "samples": len(self.samples),
        }


# --- The database and the server ----------------------------------------------------------------------------


def recreate_database(database_url: str) -> None:
    import psycopg
    from psycopg import sql

    url = urlparse(database_url)
    name = url.path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"Refusing to drop and recreate {name!r}: the benchmark's database name must contain 'bench'.")
    maintenance = url._replace(path="/postgres").geturl()
    with psycopg.connect(maintenance, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _venv_tool(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    import shutil

    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is not installed in this environment (pip install {name}).")
    return found


class Server:
    """The production server in a process group of its own, logging to a file."""

    def __init__(self, config: ServerConfig, env: dict, log_path: Path):
        self.config, self.env, self.log_path = config, env, log_path
        self.port = free_port()
        self.process = None

    def start(self):
        env = {**os.environ, **self.env, **self.config.environment(), "BIND": f"{HOST}:{self.port}"}
        if self.config.server == "gunicorn":
            command = [_venv_tool("gunicorn"), "config.wsgi", "-c", "config/gunicorn.conf.py"]
        else:
            command = [_venv_tool("uvicorn"), "config.asgi:application", "--host", HOST, "--port", str(self.port)]
            command += ["--workers", str(self.config.workers), "--timeout-graceful-shutdown", "20"]
        self.log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        asyncio.run(self._wait_ready())

    async def _wait_ready(self, timeout: float = 60.0):
        deadline = time.monotonic() + timeout
        session = Session(HOST, self.port)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                response = await session.get("/readyz")
                if response.status == 200:
                    session.reset()
                    return
            except RequestFailed:
                pass
            await asyncio.sleep(0.2)
        raise RuntimeError(f"the server was not ready within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self):
        """SIGTERM, as a process supervisor stops it; the group is killed only if it has not exited in 30 s."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if self.process is not None:
            self.log.close()

    def log_problems(self, limit: int = 40) -> list[str]:
        """Lines of the server's log that tell of trouble: errors, tracebacks, 5xx answers."""
        self.log.flush()
        pattern = re.compile(r"ERROR|CRITICAL|Traceback|WORKER TIMEOUT|\" 5\d\d ")
        with self.log_path.open(errors="replace") as log:
            return [line.rstrip() for line in log if pattern.search(line)][:limit]

    def log_tail(self, lines: int = 30) -> str:
        self.log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


# --- The shoppers -------------------------------------------------------------------------------------------


class FlowError(Exception):
    def __init__(self, kind: str, detail: str = ""):
        super().__init__(kind)
        self.kind, self.detail = kind, detail


class Recorder:
    """Orders, request latencies and errors that finished inside the measured window."""

    def __init__(self):
        self.window = (math.inf, math.inf)
        self.orders: list[float] = []
        self.requests: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter = Counter()
        self.error_samples: dict[str, str] = {}

    def inside(self, moment: float) -> bool:
        return self.window[0] <= moment <= self.window[1]

    async def timed(self, kind: str, call):
        started = time.perf_counter()
        try:
            response = await call
        except RequestFailed as failure:
            raise FlowError(f"{kind}: {failure.kind}", str(failure)) from None
        finished = time.perf_counter()
        if self.inside(finished):
            self.requests[kind].append(finished - started)
        return response


def expect(response, status: int, kind: str, location_prefix: str = ""):
    if response.status != status:
        raise FlowError(f"{kind}: HTTP {response.status}", response.text[:300])
    if location_prefix and not response.header("location").startswith(location_prefix):
        raise FlowError(f"{kind}: redirected to {response.header('location')[:40] or 'nowhere'}")


async def api_flow(session: Session, shopper: dict, recorder: Recorder):
    response = await recorder.timed("api create", session.post_json("/api/v1/orders/", shopper["order_body"]))
    expect(response, 201, "api create")
    created = json.loads(response.body)
    response = await recorder.timed(
        "api pay",
        session.post_json(
            f"/api/v1/orders/{created['id']}/process-payment/",
            PAYMENT_BODY,
            headers={"X-Order-Token": created["access_token"]},
        ),
    )
    expect(response, 200, "api pay")
    if json.loads(response.body).get("status") != "CONFIRMED":
        raise FlowError("api pay: not CONFIRMED")


async def storefront_flow(session: Session, shopper: dict, recorder: Recorder):
    from load_ceiling import CHECKOUT_KEY_RE, CSRF_FIELD_RE, HX_CSRF_RE, STOREFRONT_CART, checkout_form

    response = await recorder.timed("sf catalog", session.get("/"))
    expect(response, 200, "sf catalog")
    token = first_group(HX_CSRF_RE.search(response.text))
    if not token:
        raise FlowError("sf catalog: no CSRF token")
    for sku, quantity in STOREFRONT_CART:
        response = await recorder.timed(
            "sf cart add",
            session.post_form(
                f"/cart/add/{sku}/", {"quantity": quantity}, headers={"X-CSRFToken": token, "HX-Request": "true"}
            ),
        )
        expect(response, 200, "sf cart add")
    response = await recorder.timed("sf checkout form", session.get("/checkout/"))
    expect(response, 200, "sf checkout form")
    page = response.text
    key, csrf = first_group(CHECKOUT_KEY_RE.search(page)), first_group(CSRF_FIELD_RE.search(page))
    if not key or not csrf:
        raise FlowError("sf checkout form: no checkout key or CSRF token")
    form = checkout_form(shopper["email"], key, csrf)
    response = await recorder.timed("sf checkout submit", session.post_form("/checkout/", form))
    expect(response, 302, "sf checkout submit", location_prefix="/orders/")
    response = await recorder.timed("sf order page", session.get(response.header("location")))
    expect(response, 200, "sf order page")
    if 'data-testid="order-status">Confirmed<' not in response.text:
        raise FlowError("sf order page: not Confirmed")


def first_group(match) -> str:
    return next((group for group in match.groups() if group), "") if match else ""


FLOWS = {"api": api_flow, "storefront": storefront_flow}
PAYMENT_BODY = json.dumps({"payment_gateway": "stripe"}).encode()


async def shopper_loop(flow, session, shopper, recorder: Recorder, stop_at: float):
    for _ in range(MAX_ORDERS_PER_CLIENT):
        if time.perf_counter() >= stop_at:
            return
        started = time.perf_counter()
        try:
            await flow(session, shopper, recorder)
        except FlowError as error:
            finished = time.perf_counter()
            if recorder.inside(finished):
                recorder.errors[error.kind] += 1
                recorder.error_samples.setdefault(error.kind, error.detail)
            session.reset()  # a clean shopper again: no half-filled cart
            await asyncio.sleep(0.05)
            continue
        finished = time.perf_counter()
        if recorder.inside(finished):
            recorder.orders.append(finished - started)


async def run_level(flow_name: str, clients: int, args, server: Server, postmaster):
    flow = FLOWS[flow_name]
    recorder = Recorder()
    sessions = [Session(HOST, server.port, keep_alive=not args.no_keepalive) for _ in range(clients)]
    shoppers = []
    for index in range(clients):
        email = f"shopper{index}-{flow_name}@loadbench.example"
        body = json.dumps(_api_body(email)).encode()
        shoppers.append({"email": email, "order_body": body})
    started = time.perf_counter()
    window_start, window_end = started + args.warmup, started + args.warmup + args.duration
    recorder.window = (window_start, window_end)
    tasks = [
        asyncio.create_task(shopper_loop(flow, session, shopper, recorder, window_end))
        for session, shopper in zip(sessions, shoppers, strict=True)
    ]
    await asyncio.sleep(max(0.0, window_start - time.perf_counter()))
    before = snapshot(server.process.pid, postmaster, args.database_name)
    sampler = ActivitySampler(args.database_url, args.duration + 5)
    sampler.start()
    await asyncio.sleep(max(0.0, window_end - time.perf_counter()))
    after = snapshot(server.process.pid, postmaster, args.database_name)
    activity = sampler.stop()
    _done, pending = await asyncio.wait(tasks, timeout=45)
    for task in pending:
        task.cancel()
    for session in sessions:
        session.reset()
    level = summarise_level(flow_name, clients, recorder, before, after, stragglers=len(pending))
    level["database_activity"] = activity
    return level


def _api_body(email: str) -> dict:
    from shop.api.examples import SEED_GUEST_ORDER_BODY

    return {**SEED_GUEST_ORDER_BODY, "customer_email": email}


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share / 100 * len(ordered)) - 1)]


def latency_summary(seconds: list[float]) -> dict:
    ms = [value * 1000 for value in seconds]
    return {
        "count": len(ms),
        "p50": _round(percentile(ms, 50)),
        "p95": _round(percentile(ms, 95)),
        "p99": _round(percentile(ms, 99)),
        "mean": _round(sum(ms) / len(ms)) if ms else None,
        "max": _round(max(ms)) if ms else None,
    }


def _round(value, digits=2):
    return None if value is None else round(value, digits)


def _per_order(before, after, key, orders) -> float | None:
    delta = cpu_delta(before, after, key)
    return None if delta is None or not orders else round(delta * 1000 / orders, 2)


def _busy_share(before, after, key) -> float | None:
    delta = cpu_delta(before, after, key)
    return None if delta is None else round(delta / (after["at"] - before["at"]) / os.cpu_count(), 3)


def busy_shares(before, after, ours: tuple[str, ...]) -> dict:
    keys = ("server", "postgresql", "postgresql_cluster", "client", "client_children", "machine")
    busy = {key: _busy_share(before, after, key) for key in keys}
    used = sum(busy[key] or 0 for key in ours)
    busy["other"] = round(max(0.0, (busy["machine"] or 0) - used), 3)
    return busy


def summarise_level(flow_name, clients, recorder: Recorder, before, after, stragglers) -> dict:
    seconds = after["at"] - before["at"]
    orders = len(recorder.orders)
    busy = busy_shares(before, after, ours=("server", "postgresql_cluster", "client"))
    worker_seconds = sorted(
        (seconds - before["server_workers"].get(pid, 0.0) for pid, seconds in after["server_workers"].items()),
        reverse=True,
    )
    total = sum(worker_seconds) or 1.0
    return {
        "flow": flow_name,
        "clients": clients,
        "seconds": round(seconds, 2),
        "orders": orders,
        "orders_per_s": round(orders / seconds, 2),
        "latency_ms": latency_summary(recorder.orders),
        "requests": {kind: latency_summary(values) for kind, values in sorted(recorder.requests.items())},
        "errors": dict(recorder.errors),
        "error_samples": recorder.error_samples,
        "error_count": sum(recorder.errors.values()),
        "cpu_ms_per_order": {
            key: _per_order(before, after, key, orders)
            for key in ("server", "postgresql", "postgresql_cluster", "client")
        },
        "cpu_busy_share": busy,
        # How the server's CPU was split between its worker processes, busiest first: keep-alive connections stay
        # with the worker that accepted them, and one process cannot use more than one core (the GIL).
        "worker_cpu_split": [round(seconds / total, 3) for seconds in worker_seconds],
        "unfinished_shoppers": stragglers,
    }


# --- Setting up ---------------------------------------------------------------------------------------------


def bench_environment(args, static_root: Path) -> dict:
    env = {
        "DATABASE_URL": args.database_url,
        "DEBUG": "False",
        "STATIC_ROOT": str(static_root),
        "HTTPS": "False",
        "FAKE_GATEWAY_LATENCY_MS": str(args.gateway_latency_ms),
        "FAKE_GATEWAY_ERROR_RATE": "0",
        "FAKE_GATEWAY_TIMEOUT_RATE": "0",
        "GUNICORN_MAX_REQUESTS": "0",
        "REDIS_URL": args.redis_url,
        "CACHE_KEY_PREFIX": "shop-loadbench",
    }
    return env


def setup_shop(env: dict, capture_repeat: int, flows: list[str]) -> dict:
    """Migrate, load the catalog, collect static files and capture the SQL of one order of each flow."""
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from shop.models import Product

    call_command("migrate", verbosity=0, interactive=False)
    call_command("load_demo_catalog", verbosity=0, stdout=io.StringIO())
    Product.objects.filter(is_active=True).update(stock=1_000_000_000)
    call_command("collectstatic", verbosity=0, interactive=False)
    import load_ceiling

    load_ceiling.bump_sequences()
    captured = {}
    for flow in flows:
        first, every, session_key = load_ceiling.capture(flow, repeat=capture_repeat)
        captured[flow] = {"capture": first, "all": every, "script": load_ceiling.pgbench_script(first, session_key)}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), current_setting('server_version')")
        backend, server_version = cursor.fetchone()
    parent = _stat(backend)
    return {"captured": captured, "postmaster": parent[0] if parent else None, "server_version": server_version}


def capture_summary(entry: dict) -> dict:
    first, every, script = entry["capture"], entry["all"], entry["script"]
    walls = [capture.seconds * 1000 for capture in every]
    sql = [capture.db_seconds * 1000 for capture in every]
    commits = [capture.commit_seconds * 1000 for capture in every]
    return {
        "queries_per_order": first.queries,
        "transactions_per_order": first.commits,
        "in_process_ms": _round(percentile(walls, 50)),
        "sql_ms": _round(percentile(sql, 50)),
        "commit_ms": _round(percentile(commits, 50)),
        "orders_timed": len(every),
        "pgbench_script": {
            "statements": script.statements,
            "transactions": script.transactions,
            "fresh_values": script.fresh_values,
            "returned_ids": script.returned_ids,
        },
    }


# --- Reporting ----------------------------------------------------------------------------------------------


def _fmt(value, spec=".1f", missing="-"):
    return missing if value is None else format(value, spec)


def _share(value) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def print_levels(levels: list[dict], ceilings: dict):
    columns = [
        ("flow", "", 11, "<"),
        ("clients", "", 8, ">"),
        ("orders/s", "", 9, ">"),
        ("p50", "ms", 7, ">"),
        ("p95", "ms", 7, ">"),
        ("p99", "ms", 7, ">"),
        ("errors", "", 7, ">"),
        ("server", "CPU ms", 8, ">"),
        ("PG", "CPU ms", 8, ">"),
        ("client", "CPU ms", 8, ">"),
        ("CPU busy", "srv/PG/cli", 12, ">"),
        ("other", "load", 7, ">"),
        ("lock", "waits", 7, ">"),
        ("ceiling", "orders/s", 10, ">"),
        ("shop/", "ceiling", 9, ">"),
    ]
    print()
    for row in (0, 1):
        print("".join(f"{column[row]:{align}{width}}" for *column, width, align in columns))
    print("-" * sum(width for _, _, width, _ in columns))
    for level in levels:
        ceiling = ceilings.get(level["flow"], {}).get(level["clients"])
        ratio = level["orders_per_s"] / ceiling["tps"] if ceiling and ceiling["tps"] else None
        cpu, busy, latency = level["cpu_ms_per_order"], level["cpu_busy_share"], level["latency_ms"]
        ours = "/".join(_share(busy[key]).rstrip("%") for key in ("server", "postgresql", "client")) + "%"
        cells = [
            level["flow"],
            level["clients"],
            f"{level['orders_per_s']:.1f}",
            _fmt(latency["p50"]),
            _fmt(latency["p95"]),
            _fmt(latency["p99"]),
            level["error_count"],
            _fmt(cpu["server"]),
            _fmt(cpu["postgresql"]),
            _fmt(cpu["client"]),
            ours,
            _share(busy["other"]),
            _fmt(level["database_activity"]["waiting_on_locks"]),
            _fmt(ceiling and ceiling["tps"]),
            _share(ratio),
        ]
        print("".join(f"{cell!s:{align}{width}}" for cell, (_, _, width, align) in zip(cells, columns, strict=True)))
    print(
        "  CPU ms: per order, of the server's processes, of the bench database's PostgreSQL backends, of this client."
        "\n  CPU busy: share of both cores they used; other load: share used by anything else on the machine."
        "\n  lock waits: PostgreSQL backends waiting for a row lock (mean of samples every 0.1 s)."
        "\n  ceiling: the same orders' SQL replayed by pgbench at the same concurrency (below)."
    )
    for level in levels:
        if level["errors"]:
            print(f"  errors, {level['flow']} x{level['clients']}: {level['errors']}")


def print_requests(levels: list[dict]):
    if not levels:
        return
    print(f"\n{'request (p50/p95 ms)':<22}" + "".join(f"{'x' + str(level['clients']):>16}" for level in levels))
    kinds = sorted({kind for level in levels for kind in level["requests"]})
    for kind in kinds:
        cells = []
        for level in levels:
            summary = level["requests"].get(kind)
            cells.append(f"{_fmt(summary['p50'])}/{_fmt(summary['p95'])}" if summary else "-")
        print(f"{kind:<22}" + "".join(f"{cell:>16}" for cell in cells))


def print_ceilings(ceilings: dict):
    print("\nDatabase ceiling: one captured order's SQL replayed by pgbench (one pgbench transaction = one order):")
    for flow, by_clients in ceilings.items():
        for clients, run in by_clients.items():
            note = f"; capped at {run['clients']} connections (max_connections)" if run["clients"] != clients else ""
            problems = f"; {run['failed']} failed, {run['aborted_clients']} clients aborted" if run["errors"] else ""
            print(
                f"  {flow:<11} x{clients:<4} {run['tps']:>8.1f} orders/s,"
                f" {_fmt(run['latency_ms'], '.2f'):>7} ms an order,"
                f" PostgreSQL CPU {_fmt(run['cpu_ms_per_order']['postgresql_cluster'])} ms an order,"
                f" other load {_share(run['cpu_busy_share']['other'])},"
                f" lock waits {_fmt(run.get('database_activity', {}).get('waiting_on_locks'))}{note}{problems}"
            )
            for line in run["errors"]:
                print("    " + line)


def print_breakdown(flow: str, summary: dict, level: dict | None, gateway_latency_ms: int):
    if level is None:
        return
    http_ms = level["latency_ms"]["mean"]
    cpu = level["cpu_ms_per_order"]
    waiting = http_ms - sum(cpu[key] or 0 for key in ("server", "postgresql", "client"))
    requests = sum(1 for _ in level["requests"])
    print(f"\nWhere one {flow} order's time goes with one shopper (orders one after another, means):")
    print(f"  latency of the whole order over HTTP ({requests} request types)      {_fmt(http_ms):>7} ms")
    print(f"  = server CPU (gunicorn, Django, psycopg)                         {_fmt(cpu['server']):>7} ms")
    print(f"  + PostgreSQL CPU                                                 {_fmt(cpu['postgresql']):>7} ms")
    print(f"  + client CPU (this benchmark)                                    {_fmt(cpu['client']):>7} ms")
    print(f"  + waiting: WAL flushes at commit, sockets, scheduling            {_fmt(waiting):>7} ms")
    print(
        f"  In-process (Django's test client, same views; p50 of {summary['orders_timed']}):"
        f" {_fmt(summary['in_process_ms'])} ms, of which {_fmt(summary['sql_ms'])} ms in"
        f" {summary['queries_per_order']} SQL statements and {summary['transactions_per_order']} commits"
        f" (commits {_fmt(summary['commit_ms'])} ms), the rest Python."
    )
    print(
        f"  Payment gateway: {gateway_latency_ms} ms of latency (FAKE_GATEWAY_LATENCY_MS); its ledger writes are"
        " among the SQL statements."
    )


def machine_info(server_version: str) -> dict:
    cpu_model = ""
    with contextlib.suppress(OSError, StopIteration):
        cpu_model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    versions = {}
    for package in ("django", "gunicorn", "uvicorn", "psycopg"):
        try:
            from importlib.metadata import version

            versions[package] = version(package)
        except Exception:
            versions[package] = None
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "python": platform.python_version(),
        "postgresql": server_version,
        "packages": versions,
        "load_average_at_start": os.getloadavg(),
    }


# --- The run ------------------------------------------------------------------------------------------------


def run_http_levels(config, env, tmp, flows, levels, args, postmaster) -> list[dict]:
    server = Server(config, env, tmp / f"server-{config.server}-{config.workers}x{config.threads}-{config.db}.log")
    results = []
    try:
        started = time.perf_counter()
        server.start()
        print(f"{config.label}: ready on {HOST}:{server.port} in {time.perf_counter() - started:.1f} s", flush=True)
        for flow in flows:
            for clients in levels:
                level = asyncio.run(run_level(flow, clients, args, server, postmaster))
                level["server"] = config.label
                results.append(level)
                print(
                    f"  {flow:<11} x{clients:<4} {level['orders_per_s']:8.1f} orders/s  "
                    f"p50 {_fmt(level['latency_ms']['p50'])} ms  p95 {_fmt(level['latency_ms']['p95'])} ms  "
                    f"errors {level['error_count']}  other load {_share(level['cpu_busy_share']['other'])}  "
                    f"workers' CPU {'/'.join(_share(share).rstrip('%') for share in level['worker_cpu_split'])}%",
                    flush=True,
                )
                if server.process.poll() is not None:
                    raise RuntimeError(f"the server died:\n{server.log_tail()}")
        problems = server.log_problems()
        if problems:
            print(f"  the server logged {len(problems)} problem line(s), e.g. {problems[0][:150]}")
        for level in results:
            level["server_log_problems"] = problems
    finally:
        server.stop()
    return results


def run_ceilings(setup, args, flows, levels, tmp) -> dict:
    import load_ceiling
    from django.db import connections

    pgbench = load_ceiling.find_pgbench()
    if pgbench is None:
        print("pgbench not found: no database ceiling.")
        return {}
    ceilings = {}
    base = 0
    for flow in flows:
        script = setup["captured"][flow]["script"]
        path = RESULTS_DIR / f"last-order-{flow}.pgbench.sql"
        path.write_text(script.text)
        ceilings[flow] = {}
        for clients in levels:
            base += 1
            used = max(1, min(clients, load_ceiling.connection_slots_free() - 5))
            load_ceiling.seed_pgbench_sessions(script, base, used)
            connections.close_all()
            sampler = ActivitySampler(args.database_url, args.pgbench_duration + 30)
            before = snapshot(None, setup["postmaster"], args.database_name)
            sampler.start()
            run = load_ceiling.run_pgbench(
                pgbench, path, args.database_url, clients=used, seconds=args.pgbench_duration, base=base
            )
            run["database_activity"] = sampler.stop()
            after = snapshot(None, setup["postmaster"], args.database_name)
            run["cpu_ms_per_order"] = {
                "postgresql_cluster": _per_order(before, after, "postgresql_cluster", run["transactions"]),
                "pgbench": _per_order(before, after, "client_children", run["transactions"]),
            }
            run["cpu_busy_share"] = busy_shares(before, after, ours=("postgresql_cluster", "client_children"))
            ceilings[flow][clients] = run
            print(f"  pgbench {flow:<11} x{used:<4} {run['tps']:8.1f} orders/s", flush=True)
    return ceilings


def main():
    parser = argparse.ArgumentParser(
        description=" ".join(__doc__.split("\n\n")[0].split()), formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="CI: 1 and 8 clients, 3 s each, short pgbench runs")
    parser.add_argument("--compare", action="store_true", help="compare server configurations (API flow)")
    parser.add_argument("--configs", help="with --compare: comma-separated server:WORKERSxTHREADS:db list")
    parser.add_argument("--rounds", type=int, default=2, help="with --compare: rounds over all configurations")
    parser.add_argument("--levels", help="comma-separated concurrency levels (default 1,8,32,128)")
    parser.add_argument("--flows", help="api, storefront or both (default; --compare: api)")
    parser.add_argument(
        "--duration", type=float, help="measured seconds per level (default 20; --quick 3; --compare 8)"
    )
    parser.add_argument("--warmup", type=float, help="seconds of warm-up per level, not measured (default 3)")
    parser.add_argument("--pgbench-duration", type=float, help="seconds per pgbench run (default = --duration)")
    parser.add_argument(
        "--server", default=None, help="server:WORKERSxTHREADS:db, e.g. gunicorn:4x4:pool (the default), uvicorn:4:pool"
    )
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default="", help="REDIS_URL for the server (default: none, local memory)")
    parser.add_argument("--gateway-latency-ms", type=int, default=0, help="the fake gateway's answer delay")
    parser.add_argument("--no-ceiling", action="store_true", help="skip pgbench")
    parser.add_argument("--no-keepalive", action="store_true", help="a new connection for every request")
    args = parser.parse_args()

    default_levels = "1,8" if args.quick else ("8,32,128" if args.compare else "1,8,32,128")
    levels = [int(level) for level in (args.levels or default_levels).split(",")]
    flows = [flow.strip() for flow in (args.flows or ("api" if args.compare else "api,storefront")).split(",")]
    args.duration = args.duration or (3.0 if args.quick else 8.0 if args.compare else 20.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 3.0)
    args.pgbench_duration = args.pgbench_duration or args.duration
    args.database_name = urlparse(args.database_url).path.lstrip("/")
    config = ServerConfig.parse(args.server) if args.server else DEFAULT_CONFIG
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)

    wall_started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="shop-loadbench-") as tmp_name:
        tmp = Path(tmp_name)
        env = bench_environment(args, tmp / "static")
        print(f"database {args.database_url}: recreating, migrating, loading the catalog, collecting static files")
        recreate_database(args.database_url)
        setup = setup_shop(env, capture_repeat=5 if args.quick else 20, flows=flows)
        from django.db import connections

        connections.close_all()
        captures = {flow: capture_summary(setup["captured"][flow]) for flow in flows}
        for flow, summary in captures.items():
            print(
                f"  one {flow} order: {summary['queries_per_order']} queries in "
                f"{summary['transactions_per_order']} transactions; in-process {summary['in_process_ms']} ms, "
                f"of which SQL {summary['sql_ms']} ms (p50 of {summary['orders_timed']})"
            )
        print(f"  setup took {time.perf_counter() - wall_started:.1f} s", flush=True)
        other = background_load()
        if other > 0.1:
            print(f"  note: other processes keep {other:.0%} of the machine's CPU busy; expect lower, noisier figures")

        report = {
            "mode": "compare" if args.compare else "quick" if args.quick else "full",
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": machine_info(setup["server_version"]),
            "settings": {
                "levels": levels,
                "flows": flows,
                "duration_s": args.duration,
                "warmup_s": args.warmup,
                "pgbench_duration_s": args.pgbench_duration,
                "gateway_latency_ms": args.gateway_latency_ms,
                "redis": bool(args.redis_url),
                "keep_alive": not args.no_keepalive,
            },
            "per_order": captures,
        }
        if args.compare:
            configs = [ServerConfig.parse(text) for text in (args.configs or ",".join(COMPARED_CONFIGS)).split(",")]
            report["configs"] = {candidate.label: [] for candidate in configs}
            for round_number in range(1, args.rounds + 1):
                for candidate in configs:
                    if isinstance(report["configs"][candidate.label], dict):
                        continue
                    try:
                        runs = run_http_levels(candidate, env, tmp, flows, levels, args, setup["postmaster"])
                    except RuntimeError as error:
                        print(f"{candidate.label}: failed: {error}")
                        report["configs"][candidate.label] = {"failed": str(error)}
                        continue
                    for run in runs:
                        run["round"] = round_number
                    report["configs"][candidate.label] += runs
            print_comparison(report["configs"], levels, flows)
        else:
            report["server"] = config.label
            report["levels"] = run_http_levels(config, env, tmp, flows, levels, args, setup["postmaster"])
            report["ceilings"] = {} if args.no_ceiling else run_ceilings(setup, args, flows, levels, tmp)
            print(
                f"\nServer: {config.label}; machine: {os.cpu_count()} CPUs "
                f"({report['machine']['cpu_model']}), PostgreSQL {setup['server_version']}"
            )
            print_levels(report["levels"], report["ceilings"])
            for flow in flows:
                print_requests([level for level in report["levels"] if level["flow"] == flow])
            if report["ceilings"]:
                print_ceilings(report["ceilings"])
            for flow in flows:
                single = next((lv for lv in report["levels"] if lv["flow"] == flow and lv["clients"] == 1), None)
                print_breakdown(flow, captures[flow], single, args.gateway_latency_ms)
        report["background_load_at_start"] = round(other, 3)
    report["wall_seconds"] = round(time.perf_counter() - wall_started, 1)
    path = RESULTS_DIR / f"load-{report['mode']}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    print(f"\nwall time {report['wall_seconds']} s; results in {path.relative_to(BASE_DIR)}")
    failed = any(level["orders"] == 0 or level["error_count"] for level in report.get("levels", []))
    return 1 if failed else 0


def print_comparison(results: dict, levels: list[int], flows: list[str]):
    """Per configuration and level, the best of the rounds (other processes on the machine only ever slow a run
    down), with that run's p95, server CPU per order and the machine's other load."""
    for flow in flows:
        print(f"\n{flow}: best of the rounds; per level orders/s, p95 ms; then server CPU ms/order, other load")
        print(f"{'server configuration':<30}" + "".join(f"{'x' + str(n):>17}" for n in levels), end="")
        print(f"{'srv CPU':>9}{'other':>7}{'errors':>8}")
        for label, runs in results.items():
            if isinstance(runs, dict):
                print(f"{label:<30} failed: {runs['failed'][:60]}")
                continue
            cells, cpu, other, errors = [], [], [], 0
            for clients in levels:
                candidates = [run for run in runs if run["clients"] == clients and run["flow"] == flow]
                if not candidates:
                    cells.append(f"{'-':>17}")
                    continue
                best = max(candidates, key=lambda run: run["orders_per_s"])
                cells.append(f"{best['orders_per_s']:>9.1f}{_fmt(best['latency_ms']['p95'], '.0f'):>8}")
                if best["cpu_ms_per_order"]["server"]:
                    cpu.append(best["cpu_ms_per_order"]["server"])
                other.append(best["cpu_busy_share"]["other"] or 0)
                errors += sum(run["error_count"] for run in candidates)
            mean_cpu = sum(cpu) / len(cpu) if cpu else None
            mean_other = sum(other) / len(other) if other else None
            print(f"{label:<30}{''.join(cells)}{_fmt(mean_cpu):>9}{_share(mean_other):>7}{errors:>8}")


if __name__ == "__main__":
    sys.exit(main())
