"""The database side of the load benchmark: what one order costs PostgreSQL, and how fast PostgreSQL alone can go.

`capture()` places orders in-process through Django's test client (the same views, services and middleware the
server runs) and records every statement with its parameters, what it returned and how long it took, plus the
transaction boundaries Django sets (BEGIN when autocommit goes off, COMMIT / ROLLBACK). `pgbench_script()` turns
one captured order into a pgbench custom script: the same statements in the same transactions, SELECT ... FOR
UPDATE included, with the values that must differ between orders (order numbers, access token digests,
idempotency keys, task ids, checkout keys, ids returned by INSERTs) made fresh for every pgbench transaction.
`run_pgbench()` replays it: its transactions per second are the orders per second PostgreSQL could take if the
shop added nothing.

Import after `django.setup()`.
"""

import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from django.db import connection, connections
from django.test import Client


@dataclass
class Statement:
    template: str
    params: object
    seconds: float
    returned: list[str] = field(default_factory=list)
    returned_column: str = ""
    _sql: str = ""

    @property
    def sql(self) -> str:
        """The statement with its parameters, as psycopg sends it (composed on demand: recording stays cheap)."""
        if not self._sql:
            self._sql = connection.ops.compose_sql(self.template, self.params)
        return self._sql


@dataclass
class Capture:
    """What the database saw for one order: statements and transaction markers ("BEGIN", "COMMIT", ...)."""

    entries: list = field(default_factory=list)
    seconds: float = 0.0  # wall time of the whole order, in-process
    commit_seconds: float = 0.0

    @property
    def statements(self) -> list[Statement]:
        return [entry for entry in self.entries if isinstance(entry, Statement)]

    @property
    def queries(self) -> int:
        """Statements the application issued, as Django counts them (SAVEPOINTs included, BEGIN/COMMIT not)."""
        return len(self.statements)

    @property
    def commits(self) -> int:
        return sum(1 for entry in self.entries if entry == "COMMIT")

    @property
    def db_seconds(self) -> float:
        return sum(entry.seconds for entry in self.statements) + self.commit_seconds


class SqlRecorder:
    """Records every statement of the default connection and the transaction boundaries Django drives."""

    def __init__(self):
        self.capture = Capture()
        self._in_transaction = False
        self._begun = False

    def __enter__(self):
        self.wrapper = connections["default"]
        self._originals = {name: getattr(self.wrapper, name) for name in ("_commit", "_rollback", "_set_autocommit")}
        self.wrapper._commit = self._end("COMMIT", self._originals["_commit"])
        self.wrapper._rollback = self._end("ROLLBACK", self._originals["_rollback"])
        self.wrapper._set_autocommit = self._set_autocommit
        self._execute = self.wrapper.execute_wrapper(self._record)
        self._execute.__enter__()
        self.started = time.perf_counter()
        return self.capture

    def __exit__(self, *exc):
        self.capture.seconds = time.perf_counter() - self.started
        self._execute.__exit__(*exc)
        for name in self._originals:
            delattr(self.wrapper, name)

    def _set_autocommit(self, autocommit):
        self._originals["_set_autocommit"](autocommit)
        self._in_transaction, self._begun = not autocommit, False

    def _end(self, marker, original):
        def end():
            started = time.perf_counter()
            original()
            if self._begun:
                self.capture.entries.append(marker)
                self.capture.commit_seconds += time.perf_counter() - started
            self._begun = False

        return end

    def _record(self, execute, sql, params, many, context):
        if self._in_transaction and not self._begun:
            self.capture.entries.append("BEGIN")
            self._begun = True
        started = time.perf_counter()
        result = execute(sql, params, many, context)
        seconds = time.perf_counter() - started
        batches = list(params) if many else [params]
        for one in batches:
            statement = Statement(template=sql, params=one, seconds=seconds / max(len(batches), 1))
            self.capture.entries.append(statement)
        result_set = getattr(context["cursor"].cursor, "pgresult", None)
        if batches and " RETURNING " in sql and result_set is not None and result_set.ntuples and result_set.nfields:
            statement.returned = [result_set.get_value(row, 0).decode() for row in range(result_set.ntuples)]
            statement.returned_column = result_set.fname(0).decode()
        return result


# --- The two order flows, in-process ------------------------------------------------------------------------


def api_order_body(email: str) -> dict:
    from shop.api.examples import SEED_GUEST_ORDER_BODY

    return {**SEED_GUEST_ORDER_BODY, "customer_email": email}


API_PAYMENT_BODY = {"payment_gateway": "stripe"}
STOREFRONT_CART = (("LAP-001", 1), ("MOU-001", 2))
CHECKOUT_KEY_RE = re.compile(
    r'<input[^>]*name="checkout_key"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="checkout_key"'
)
CSRF_FIELD_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
HX_CSRF_RE = re.compile(r"&quot;X-CSRFToken&quot;: &quot;([^&]+)&quot;|\"X-CSRFToken\": \"([^\"]+)\"")


def checkout_form(email: str, checkout_key: str, csrf: str) -> dict:
    return {
        "csrfmiddlewaretoken": csrf,
        "checkout_key": checkout_key,
        "email": email,
        "name": "Load Bench",
        "phone": "998901234567",
        "shipping_address": "123 Main St, Tashkent, Uzbekistan",
        "payment_method": "CREDIT_CARD",
        "card": "tok_visa",
    }


def first_group(match) -> str:
    return next(group for group in match.groups() if group) if match else ""


def api_order_in_process(client: Client, email: str) -> None:
    response = client.post("/api/v1/orders/", api_order_body(email), content_type="application/json")
    assert response.status_code == 201, (response.status_code, response.content[:500])
    created = response.json()
    response = client.post(
        f"/api/v1/orders/{created['id']}/process-payment/",
        API_PAYMENT_BODY,
        content_type="application/json",
        headers={"X-Order-Token": created["access_token"]},
    )
    assert response.status_code == 200 and response.json()["status"] == "CONFIRMED", response.content[:500]


def storefront_order_in_process(client: Client, email: str) -> None:
    response = client.get("/")
    assert response.status_code == 200, response.status_code
    for sku, quantity in STOREFRONT_CART:
        response = client.post(f"/cart/add/{sku}/", {"quantity": quantity}, headers={"HX-Request": "true"})
        assert response.status_code == 200, (sku, response.status_code)
    page = client.get("/checkout/").content.decode()
    form = checkout_form(email, first_group(CHECKOUT_KEY_RE.search(page)), first_group(CSRF_FIELD_RE.search(page)))
    response = client.post("/checkout/", form)
    assert response.status_code == 302 and response["Location"].startswith("/orders/"), response.status_code
    page = client.get(response["Location"]).content.decode()
    assert 'data-testid="order-status">Confirmed<' in page, "order not confirmed"


FLOWS_IN_PROCESS = {"api": api_order_in_process, "storefront": storefront_order_in_process}


def capture(flow: str, *, repeat: int) -> tuple[Capture, list[Capture], str]:
    """Place `repeat` + 2 orders of `flow` one after another as one shopper (the first two warm caches, create the
    guest customer and the session, and are not counted). Returns the first counted order's capture, every
    counted capture (for timings), and the session key the shopper had (storefront)."""
    client = Client()
    email = f"capture-{flow}@loadbench.example"
    place = FLOWS_IN_PROCESS[flow]
    for _ in range(2):
        place(client, email)
    captures = []
    for _ in range(repeat):
        with SqlRecorder() as recorded:
            place(client, email)
        captures.append(recorded)
    session_key = client.cookies["sessionid"].value if "sessionid" in client.cookies else ""
    return captures[0], captures, session_key


def bump_sequences(start: int = 3_000_000_000, step: int = 100_000_000) -> None:
    """Make the ids INSERTs return from now on unmistakable (ten digits, distinct per table), so the captured SQL
    can be told which literal numbers are ids of rows the order itself created."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT schemaname, sequencename FROM pg_sequences"
            " WHERE data_type = 'bigint'::regtype ORDER BY sequencename"
        )
        for index, (schema, name) in enumerate(cursor.fetchall()):
            cursor.execute("SELECT setval(%s::regclass, %s, false)", [f'"{schema}"."{name}"', start + index * step])


# --- The pgbench script -------------------------------------------------------------------------------------

# Values an order makes fresh; the replay replaces their tails with a number unique to each pgbench transaction.
UUID_RE = re.compile(r"(?<![0-9A-Za-z])([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-)[0-9a-f]{12}(?![0-9A-Za-z])")
HEX_RE = re.compile(r"(?<![0-9A-Za-z])([0-9a-f]{20,})[0-9a-f]{12}(?![0-9A-Za-z])")
ORDER_NUMBER_RE = re.compile(r"(?<![0-9A-Za-z])(ORD-)[0-9A-Z]{10}(?![0-9A-Za-z])")
MIN_ID = 1_000_000_000  # ids below this were not made by the captured order (see bump_sequences)


@dataclass
class Script:
    text: str
    statements: int
    transactions: int
    fresh_values: int
    returned_ids: int
    session_key: str = ""


def pgbench_script(recorded: Capture, session_key: str = "") -> Script:
    """The pgbench script of one captured order. Per pgbench transaction, `:bx_u` is a 12-digit number unique in
    the whole benchmark (run base, client id and a per-client counter); per client, `:bx_s` keeps one session row
    per simulated shopper, as the shop does."""
    lines = [
        "-- One order as the shop issues it, captured by bench/load.py. Variables: bx_base and bx_n (-D).",
        r"\set bx_n :bx_n + 1",
        r"\set bx_u 100000000000 + :bx_base * 1000000000 + :client_id * 1000000 + :bx_n",
        r"\set bx_s 100000000000 + :bx_base * 1000000000 + :client_id",
    ]
    ids: dict[str, str] = {}  # literal id -> pgbench variable
    fresh = set()
    statements = transactions = 0
    entries = recorded.entries
    later_text = [entry.sql if isinstance(entry, Statement) else "" for entry in entries]
    for index, entry in enumerate(entries):
        if not isinstance(entry, Statement):
            if entry in ("BEGIN", "COMMIT", "ROLLBACK"):
                lines.append(entry + ";")
                transactions += entry == "BEGIN"
            continue
        sql = entry.sql
        if session_key:
            sql = sql.replace(session_key, session_key[:-12] + ":bx_s")
        for pattern in (UUID_RE, HEX_RE, ORDER_NUMBER_RE):
            sql, count = pattern.subn(lambda match: match.group(1) + ":bx_u", sql)
            if count:
                fresh.update(match.group(0) for match in pattern.finditer(entry.sql))
        for literal, variable in ids.items():
            sql = re.sub(rf"(?<![0-9A-Za-z_.]){literal}(?![0-9A-Za-z_.])", ":" + variable, sql)
        ending = ";"
        returned = [value for value in entry.returned if value.isdigit() and int(value) >= MIN_ID]
        rest = "\n".join(later_text[index + 1 :])
        referenced = [value for value in returned if re.search(rf"(?<![0-9]){value}(?![0-9])", rest)]
        if len(entry.returned) == 1 and referenced:
            prefix = f"bx{index}_"
            ids[referenced[0]] = prefix + entry.returned_column
            ending = f" \\gset {prefix}"
        lines.append(sql.strip().rstrip(";") + ending)
        statements += 1
    return Script(
        text="\n".join(lines) + "\n",
        statements=statements,
        transactions=transactions,
        fresh_values=len(fresh),
        returned_ids=len(ids),
        session_key=session_key,
    )


def seed_pgbench_sessions(script: Script, base: int, clients: int) -> None:
    """One session row per pgbench client, copied from the captured shopper's, as each real shopper has one."""
    if not script.session_key:
        return
    stem = script.session_key[:-12]
    with connection.cursor() as cursor:
        for client_id in range(clients):
            key = f"{stem}{100_000_000_000 + base * 1_000_000_000 + client_id}"
            cursor.execute(
                "INSERT INTO django_session (session_key, session_data, expire_date) "
                "SELECT %s, session_data, expire_date FROM django_session WHERE session_key = %s "
                "ON CONFLICT DO NOTHING",
                [key, script.session_key],
            )


# --- Running pgbench ----------------------------------------------------------------------------------------


def find_pgbench() -> str | None:
    found = shutil.which("pgbench")
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"), reverse=True)
    return str(candidates[0]) if candidates else None


def connection_slots_free() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int"
            " - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')"
        )
        return cursor.fetchone()[0]


def pgbench_environment(database_url: str) -> tuple[list[str], dict]:
    url = urlparse(database_url)
    args = ["-h", url.hostname or "localhost", "-p", str(url.port or 5432)]
    if url.username:
        args += ["-U", url.username]
    env = {"PGPASSWORD": url.password} if url.password else {}
    return [*args, url.path.lstrip("/")], env


TPS_RE = re.compile(r"tps = ([0-9.]+) \(without initial connection time\)")
LATENCY_RE = re.compile(r"latency average = ([0-9.]+) ms")
PROCESSED_RE = re.compile(r"number of transactions actually processed: (\d+)")
FAILED_RE = re.compile(r"number of failed transactions: (\d+)")


def run_pgbench(pgbench: str, script_path: Path, database_url: str, *, clients: int, seconds: float, base: int):
    import os

    target, extra_env = pgbench_environment(database_url)
    command = [pgbench, "-n", "-f", str(script_path), "-c", str(clients), "-j", str(min(clients, 2))]
    command += ["-T", str(max(1, round(seconds))), "-D", f"bx_base={base}", "-D", "bx_n=0", *target]
    started = time.perf_counter()
    done = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, **extra_env}, timeout=seconds + 120, check=False
    )
    elapsed = time.perf_counter() - started
    output = done.stdout + done.stderr
    tps = TPS_RE.search(output)
    processed = PROCESSED_RE.search(output)
    failed = FAILED_RE.search(output)
    aborted = len(re.findall(r"aborted", done.stderr))
    errors = [line for line in done.stderr.splitlines() if "ERROR" in line or "aborted" in line][:3]
    return {
        "clients": clients,
        "seconds": seconds,
        "exit_code": done.returncode,
        "tps": float(tps.group(1)) if tps else 0.0,
        "latency_ms": float(LATENCY_RE.search(output).group(1)) if LATENCY_RE.search(output) else None,
        "transactions": int(processed.group(1)) if processed else 0,
        "failed": int(failed.group(1)) if failed else 0,
        "aborted_clients": aborted,
        "errors": errors,
        "wall_seconds": round(elapsed, 2),
    }
