"""The stress test's checker: what must hold in the database whatever raced, proven with SQL.

    from bench.invariants import check, record_initial_stock
    for invariant in check():            # Django set up, pointed at the database to check
        print(invariant.line())

Five invariants, each made of several checks; an invariant's `violations` is the sum of its checks' counts
(one per offending order, payment, refund, ledger entry or product), `checks` gives each count and `examples`
the first offending rows. All of it must be zero once the traffic has stopped and reconciliation has run:

1. no order charged twice (the fake gateway's ledger, `SandboxTransaction`, against the shop's payments);
2. refunds never above what was captured (refunds, payments, orders and the gateway's ledger agree);
3. stock never negative, and equal to initial - sold + released (+ manual adjustments);
4. every order's status consistent with its payments, refunds and its audit trail (and its version);
5. nothing left in flight: no payment or order PROCESSING, no refund PENDING.

Invariant 3 needs each product's stock at the start: pass `initial_stock` ({product id: units}) or record it
first with `record_initial_stock()` (a table of the bench's own, `bench_initial_stock`, in the checked database).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db import connections

INITIAL_STOCK_TABLE = "bench_initial_stock"
CAPTURED = ("COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED")
# Events written by `record_event` alone, without `change_order`: they do not bump the order's version
# (shop/services/orders.py create_order, payments.py _note_unknown_outcome, customers.py claiming guest orders).
EVENTS_WITHOUT_VERSION_BUMP = ("order.created", "payment.outcome_unknown", "order.claimed")
# Events whose data says the order's units went back on the shelf (orders.py _cancel_unpaid; refunds.py _apply_refund).
RELEASE_EVENT = "(e.data ->> 'stock_released' = 'true' OR e.data ->> 'restocked' = 'true')"
MAX_EXAMPLES = 5

_CAPTURED_SQL = "('COMPLETED', 'PARTIALLY_REFUNDED', 'REFUNDED')"


@dataclass
class Invariant:
    name: str
    violations: int = 0
    examples: list[str] = field(default_factory=list)
    checks: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.violations == 0

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {self.violations} violation(s)"

    def report(self) -> str:
        lines = [self.line()]
        lines += [f"       {count:>5}  {check}" for check, count in self.checks.items()]
        lines += [f"       note: {note}" for note in self.notes]
        lines += [f"       e.g. {example}" for example in self.examples]
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "violations": self.violations,
            "checks": self.checks,
            "examples": self.examples,
            "notes": self.notes,
        }


class _Checker:
    def __init__(self, alias: str):
        self.connection = connections[alias]

    def rows(self, sql: str, params: list | tuple = ()) -> list[tuple]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def run(self, invariant: Invariant, check: str, sql: str, params: list | tuple = (), describe=None) -> None:
        """Each row the query returns is one violation of `check`."""
        found = self.rows(sql, params)
        invariant.checks[check] = len(found)
        invariant.violations += len(found)
        for row in found[: max(0, MAX_EXAMPLES - len(invariant.examples))]:
            invariant.examples.append(f"[{check}] " + (describe(row) if describe else repr(row)))


def record_initial_stock(database_alias: str = "default") -> dict[int, int]:
    """Store every product's current stock as its initial stock (a table of the bench's, not a shop model)."""
    connection = connections[database_alias]
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {INITIAL_STOCK_TABLE} "
            "(product_id bigint PRIMARY KEY, initial_stock integer NOT NULL, recorded_at timestamptz DEFAULT now())"
        )
        cursor.execute(f"DELETE FROM {INITIAL_STOCK_TABLE}")
        cursor.execute(
            f"INSERT INTO {INITIAL_STOCK_TABLE} (product_id, initial_stock) SELECT id, stock FROM shop_product"
        )
        cursor.execute(f"SELECT product_id, initial_stock FROM {INITIAL_STOCK_TABLE}")
        return dict(cursor.fetchall())


def _stored_initial_stock(connection) -> dict[int, int] | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [INITIAL_STOCK_TABLE])
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute(f"SELECT product_id, initial_stock FROM {INITIAL_STOCK_TABLE}")
        return dict(cursor.fetchall())


def check(database_alias: str = "default", *, initial_stock: Mapping[int, int] | None = None) -> list[Invariant]:
    """Compute the five invariants from the database `database_alias` (PostgreSQL)."""
    checker = _Checker(database_alias)
    if checker.connection.vendor != "postgresql":
        raise RuntimeError(f"The invariants are written for PostgreSQL, not {checker.connection.vendor}.")
    if initial_stock is None:
        initial_stock = _stored_initial_stock(checker.connection)
    return [
        _no_order_charged_twice(checker),
        _refunds_within_captured(checker),
        _stock_accounted_for(checker, initial_stock),
        _status_consistent(checker),
        _nothing_in_flight(checker),
    ]


# --- 1 ------------------------------------------------------------------------------------------------


def _no_order_charged_twice(c: _Checker) -> Invariant:
    inv = Invariant("1. no order charged twice")
    c.run(
        inv,
        "orders with more than one succeeded charge at the gateway",
        """SELECT p.order_id, COUNT(*), string_agg(st.reference, ', ')
             FROM shop_payment p
             JOIN shop_sandboxtransaction st
               ON st.idempotency_key = p.idempotency_key::text AND st.kind = 'CHARGE' AND st.succeeded
            GROUP BY p.order_id HAVING COUNT(*) > 1 ORDER BY p.order_id""",
        describe=lambda r: f"order {r[0]}: {r[1]} succeeded charges ({r[2]})",
    )
    c.run(
        inv,
        "orders with more than one captured payment",
        f"""SELECT order_id, COUNT(*) FROM shop_payment WHERE status IN {_CAPTURED_SQL}
             GROUP BY order_id HAVING COUNT(*) > 1 ORDER BY order_id""",
        describe=lambda r: f"order {r[0]}: {r[1]} captured payments",
    )
    c.run(
        inv,
        "succeeded charges not recorded as a captured payment (money taken, order not paid)",
        f"""SELECT st.id, st.reference, st.amount, p.id, p.order_id, p.status, p.gateway_transaction_id, p.amount
              FROM shop_sandboxtransaction st
              LEFT JOIN shop_payment p ON p.idempotency_key::text = st.idempotency_key
             WHERE st.kind = 'CHARGE' AND st.succeeded
               AND (p.id IS NULL
                    OR (p.status <> 'PROCESSING'  -- still in flight: invariant 5
                        AND (p.status NOT IN {_CAPTURED_SQL}
                             OR p.gateway_transaction_id IS DISTINCT FROM st.reference
                             OR p.amount <> st.amount)))
             ORDER BY st.id""",
        describe=lambda r: f"charge {r[1]} of {r[2]}: payment {r[3]} of order {r[4]} is {r[5]} ({r[6]}, {r[7]})",
    )
    c.run(
        inv,
        "captured payments without a matching succeeded charge",
        f"""SELECT p.id, p.order_id, p.status, p.gateway_transaction_id, st.reference, st.succeeded
              FROM shop_payment p
              LEFT JOIN shop_sandboxtransaction st
                ON st.idempotency_key = p.idempotency_key::text AND st.kind = 'CHARGE'
             WHERE p.status IN {_CAPTURED_SQL}
               AND (st.id IS NULL OR NOT st.succeeded OR st.reference IS DISTINCT FROM p.gateway_transaction_id)
             ORDER BY p.id""",
        describe=lambda r: f"payment {r[0]} of order {r[1]} is {r[2]} ({r[3]}); gateway: {r[4]} succeeded={r[5]}",
    )
    return inv


# --- 2 ------------------------------------------------------------------------------------------------


def _refunds_within_captured(c: _Checker) -> Invariant:
    inv = Invariant("2. refunds never above captured amounts")
    c.run(
        inv,
        "payments whose succeeded refunds exceed the amount or differ from refunded_amount",
        """WITH s AS (
               SELECT payment_id,
                      COALESCE(SUM(amount) FILTER (WHERE status = 'SUCCEEDED'), 0) AS succeeded,
                      COALESCE(SUM(amount) FILTER (WHERE status IN ('SUCCEEDED', 'PENDING')), 0) AS reserved
                 FROM shop_refund GROUP BY payment_id)
           SELECT p.id, p.order_id, p.amount, p.refunded_amount, COALESCE(s.succeeded, 0), COALESCE(s.reserved, 0)
             FROM shop_payment p LEFT JOIN s ON s.payment_id = p.id
            WHERE COALESCE(s.succeeded, 0) > p.amount OR COALESCE(s.succeeded, 0) <> p.refunded_amount
               OR COALESCE(s.reserved, 0) > p.amount
            ORDER BY p.id""",
        describe=lambda r: (
            f"payment {r[0]} of order {r[1]}: amount {r[2]}, refunded_amount {r[3]}, "
            f"succeeded refunds {r[4]}, succeeded + pending {r[5]}"
        ),
    )
    c.run(
        inv,
        "payments whose status disagrees with what was refunded, or refunds on an uncaptured payment",
        f"""SELECT p.id, p.order_id, p.status, p.amount, p.refunded_amount,
                   (SELECT COUNT(*) FROM shop_refund r WHERE r.payment_id = p.id)
              FROM shop_payment p
             WHERE (p.status = 'REFUNDED' AND p.refunded_amount <> p.amount)
                OR (p.status = 'PARTIALLY_REFUNDED' AND NOT (p.refunded_amount > 0 AND p.refunded_amount < p.amount))
                OR (p.status NOT IN ('REFUNDED', 'PARTIALLY_REFUNDED') AND p.refunded_amount <> 0)
                OR (p.status NOT IN {_CAPTURED_SQL} AND EXISTS (SELECT 1 FROM shop_refund r WHERE r.payment_id = p.id))
             ORDER BY p.id""",
        describe=lambda r: f"payment {r[0]} of order {r[1]} is {r[2]}: amount {r[3]}, refunded {r[4]}, {r[5]} refunds",
    )
    c.run(
        inv,
        "orders whose refunded_amount exceeds the total or differs from their payments'",
        """SELECT o.id, o.total, o.refunded_amount, COALESCE(SUM(p.refunded_amount), 0)
             FROM shop_order o LEFT JOIN shop_payment p ON p.order_id = o.id
            GROUP BY o.id
           HAVING o.refunded_amount > o.total OR o.refunded_amount < 0
               OR o.refunded_amount <> COALESCE(SUM(p.refunded_amount), 0)
            ORDER BY o.id""",
        describe=lambda r: f"order {r[0]}: total {r[1]}, refunded_amount {r[2]}, payments refunded {r[3]}",
    )
    c.run(
        inv,
        "charges refunded above their amount at the gateway",
        """SELECT ch.reference, ch.amount, SUM(rf.amount), COUNT(*)
             FROM shop_sandboxtransaction ch
             JOIN shop_sandboxtransaction rf
               ON rf.kind = 'REFUND' AND rf.succeeded AND rf.charge_reference = ch.reference
            WHERE ch.kind = 'CHARGE'
            GROUP BY ch.reference, ch.amount HAVING SUM(rf.amount) > ch.amount
            ORDER BY ch.reference""",
        describe=lambda r: f"charge {r[0]} of {r[1]}: {r[3]} refunds at the gateway add up to {r[2]}",
    )
    c.run(
        inv,
        "succeeded refunds without a matching refund at the gateway",
        """SELECT r.id, r.payment_id, r.amount, st.reference, st.succeeded, st.amount
             FROM shop_refund r
             JOIN shop_payment p ON p.id = r.payment_id
             LEFT JOIN shop_sandboxtransaction st
               ON st.idempotency_key = r.idempotency_key::text AND st.kind = 'REFUND'
            WHERE r.status = 'SUCCEEDED'
              AND (st.id IS NULL OR NOT st.succeeded OR st.amount <> r.amount
                   OR st.charge_reference IS DISTINCT FROM p.gateway_transaction_id
                   OR st.reference IS DISTINCT FROM r.gateway_reference)
            ORDER BY r.id""",
        describe=lambda r: f"refund {r[0]} of payment {r[1]} ({r[2]}): gateway {r[3]} succeeded={r[4]} amount {r[5]}",
    )
    c.run(
        inv,
        "refunds the gateway made that the shop did not record as succeeded (money given back unrecorded)",
        """SELECT st.id, st.reference, st.amount, st.charge_reference, r.id, r.status
             FROM shop_sandboxtransaction st
             LEFT JOIN shop_refund r ON r.idempotency_key::text = st.idempotency_key
            WHERE st.kind = 'REFUND' AND st.succeeded
              AND (r.id IS NULL OR r.status NOT IN ('SUCCEEDED', 'PENDING'))  -- PENDING: invariant 5
            ORDER BY st.id""",
        describe=lambda r: f"gateway refund {r[1]} of {r[2]} on {r[3]}: shop refund {r[4]} is {r[5]}",
    )
    return inv


# --- 3 ------------------------------------------------------------------------------------------------


def _stock_accounted_for(c: _Checker, initial_stock: Mapping[int, int] | None) -> Invariant:
    inv = Invariant("3. stock never negative, and initial - sold + released")
    c.run(
        inv,
        "products with negative stock",
        "SELECT id, sku, stock FROM shop_product WHERE stock < 0 ORDER BY id",
        describe=lambda r: f"product {r[0]} {r[1]}: stock {r[2]}",
    )
    if initial_stock is None:
        inv.checks["products whose stock is not initial - sold + released + adjusted"] = 0
        inv.notes.append("no initial stock recorded: stock = initial - sold + released was not checked")
    else:
        ids = list(initial_stock)
        initial = list(initial_stock.values())
        c.run(
            inv,
            "products whose stock is not initial - sold + released + adjusted",
            f"""WITH initial AS (SELECT * FROM unnest(%s::bigint[], %s::integer[]) AS t(product_id, units)),
                    sold AS (SELECT product_id, SUM(quantity) AS units FROM shop_orderitem GROUP BY product_id),
                    released AS (
                        SELECT oi.product_id, SUM(oi.quantity) AS units
                          FROM shop_orderevent e JOIN shop_orderitem oi ON oi.order_id = e.order_id
                         WHERE {RELEASE_EVENT} GROUP BY oi.product_id),
                    adjusted AS (SELECT product_id, SUM(delta) AS units FROM shop_stockadjustment GROUP BY product_id)
               SELECT pr.id, pr.sku, pr.stock, i.units, COALESCE(s.units, 0), COALESCE(r.units, 0),
                      COALESCE(a.units, 0)
                 FROM shop_product pr
                 JOIN initial i ON i.product_id = pr.id
                 LEFT JOIN sold s ON s.product_id = pr.id
                 LEFT JOIN released r ON r.product_id = pr.id
                 LEFT JOIN adjusted a ON a.product_id = pr.id
                WHERE pr.stock <> i.units - COALESCE(s.units, 0) + COALESCE(r.units, 0) + COALESCE(a.units, 0)
                ORDER BY pr.id""",
            [ids, initial],
            describe=lambda r: (
                f"product {r[0]} {r[1]}: stock {r[2]}, expected {r[3]} - {r[4]} sold + {r[5]} "
                f"released + {r[6]} adjusted = {r[3] - r[4] + r[5] + r[6]}"
            ),
        )
        missing = c.rows("SELECT COUNT(*) FROM shop_product WHERE NOT (id = ANY(%s::bigint[]))", [ids])[0][0]
        if missing:
            inv.notes.append(f"{missing} product(s) created after the initial stock was recorded: only >= 0 checked")
    c.run(
        inv,
        "orders whose stock was released a wrong number of times (cancelled: once; refunded: at most once)",
        f"""SELECT o.id, o.status, COUNT(e.id)
              FROM shop_order o LEFT JOIN shop_orderevent e ON e.order_id = o.id AND {RELEASE_EVENT}
             GROUP BY o.id, o.status
            HAVING (o.status = 'CANCELLED' AND COUNT(e.id) <> 1)
                OR (o.status = 'REFUNDED' AND COUNT(e.id) > 1)
                OR (o.status NOT IN ('CANCELLED', 'REFUNDED') AND COUNT(e.id) > 0)
             ORDER BY o.id""",
        describe=lambda r: f"order {r[0]} is {r[1]}: stock released {r[2]} time(s)",
    )
    return inv


# --- 4 ------------------------------------------------------------------------------------------------


def _status_consistent(c: _Checker) -> Invariant:
    from shop.models.orders import ORDER_TRANSITIONS

    inv = Invariant("4. every order's status consistent with its payments and events")
    c.run(
        inv,
        "orders whose status disagrees with their payments",
        f"""WITH p AS (
               SELECT order_id,
                      COUNT(*) FILTER (WHERE status IN {_CAPTURED_SQL}) AS captured,
                      COUNT(*) FILTER (WHERE status = 'REFUNDED') AS refunded,
                      COUNT(*) FILTER (WHERE status = 'PROCESSING') AS processing,
                      COUNT(*) FILTER (WHERE status = 'PENDING') AS pending
                 FROM shop_payment GROUP BY order_id)
           SELECT o.id, o.status, o.total, o.refunded_amount, COALESCE(p.captured, 0), COALESCE(p.refunded, 0),
                  COALESCE(p.processing, 0), COALESCE(p.pending, 0)
             FROM shop_order o LEFT JOIN p ON p.order_id = o.id
            WHERE NOT CASE o.status
                WHEN 'PENDING' THEN COALESCE(p.captured, 0) = 0 AND COALESCE(p.processing, 0) = 0
                                    AND COALESCE(p.pending, 0) = 1 AND o.refunded_amount = 0
                WHEN 'PROCESSING' THEN COALESCE(p.captured, 0) = 0 AND COALESCE(p.processing, 0) = 1
                WHEN 'FAILED' THEN COALESCE(p.captured, 0) = 0 AND COALESCE(p.processing, 0) = 0
                                   AND COALESCE(p.pending, 0) = 0 AND o.refunded_amount = 0
                WHEN 'CONFIRMED' THEN COALESCE(p.captured, 0) = 1 AND o.refunded_amount < o.total
                WHEN 'COMPLETED' THEN COALESCE(p.captured, 0) = 1 AND o.refunded_amount < o.total
                WHEN 'REFUNDED' THEN COALESCE(p.captured, 0) = 1 AND COALESCE(p.refunded, 0) = 1
                                     AND o.refunded_amount = o.total
                WHEN 'CANCELLED' THEN COALESCE(p.processing, 0) = 0 AND COALESCE(p.pending, 0) = 0 AND (
                    (COALESCE(p.captured, 0) = 0 AND o.refunded_amount = 0)
                    OR (COALESCE(p.captured, 0) = 1 AND COALESCE(p.refunded, 0) = 1 AND o.refunded_amount = o.total))
                ELSE FALSE END
            ORDER BY o.id""",
        describe=lambda r: (
            f"order {r[0]} is {r[1]} (total {r[2]}, refunded {r[3]}): payments captured {r[4]}, "
            f"refunded {r[5]}, processing {r[6]}, pending {r[7]}"
        ),
    )
    allowed = [(source, target) for source, targets in ORDER_TRANSITIONS.items() for target in targets]
    allowed_sql = ", ".join(["(%s, %s)"] * len(allowed))
    c.run(
        inv,
        "status events that break the state machine (wrong start, from != previous to, or not allowed)",
        f"""WITH allowed(from_status, to_status) AS (VALUES {allowed_sql}),
                ev AS (
                SELECT order_id, id, kind, from_status, to_status,
                       LAG(to_status) OVER (PARTITION BY order_id ORDER BY id) AS previous,
                       ROW_NUMBER() OVER (PARTITION BY order_id ORDER BY id) AS n
                  FROM shop_orderevent WHERE to_status <> '')
           SELECT ev.order_id, ev.id, ev.kind, ev.from_status, ev.to_status, ev.previous FROM ev
            WHERE (ev.n = 1 AND (ev.kind <> 'order.created' OR ev.to_status <> 'PENDING'))
               OR (ev.n > 1 AND (ev.from_status IS DISTINCT FROM ev.previous OR NOT EXISTS (
                      SELECT 1 FROM allowed a WHERE a.from_status = ev.from_status AND a.to_status = ev.to_status)))
            ORDER BY ev.order_id, ev.id""",
        [value for pair in allowed for value in pair],
        describe=lambda r: f"order {r[0]} event {r[1]} {r[2]}: {r[3] or '-'} -> {r[4]} after {r[5] or 'nothing'}",
    )
    c.run(
        inv,
        "orders whose last status event does not lead to their status",
        """SELECT o.id, o.status, last.to_status, last.kind
             FROM shop_order o
             LEFT JOIN LATERAL (
                  SELECT to_status, kind FROM shop_orderevent e
                   WHERE e.order_id = o.id AND e.to_status <> '' ORDER BY e.id DESC LIMIT 1) last ON TRUE
            WHERE last.to_status IS DISTINCT FROM o.status
            ORDER BY o.id""",
        describe=lambda r: f"order {r[0]} is {r[1]}, its last status event {r[3]} says {r[2]}",
    )
    c.run(
        inv,
        "orders whose version is not 1 + the events that changed them",
        """SELECT o.id, o.version, COUNT(e.id) FILTER (WHERE NOT (e.kind = ANY(%s))), COUNT(e.id)
             FROM shop_order o LEFT JOIN shop_orderevent e ON e.order_id = o.id
            GROUP BY o.id, o.version
           HAVING o.version <> 1 + COUNT(e.id) FILTER (WHERE NOT (e.kind = ANY(%s)))
            ORDER BY o.id""",
        [list(EVENTS_WITHOUT_VERSION_BUMP)] * 2,
        describe=lambda r: f"order {r[0]}: version {r[1]}, {r[2]} changing events ({r[3]} events in all)",
    )
    c.run(
        inv,
        "orders whose payment events disagree with their payments (started, succeeded, failed)",
        f"""WITH p AS (
               SELECT order_id,
                      COUNT(*) FILTER (WHERE processing_started_at IS NOT NULL) AS started,
                      COUNT(*) FILTER (WHERE status IN {_CAPTURED_SQL}) AS succeeded,
                      COUNT(*) FILTER (WHERE status = 'FAILED' AND processing_started_at IS NOT NULL) AS failed
                 FROM shop_payment GROUP BY order_id),
                e AS (
               SELECT order_id,
                      COUNT(*) FILTER (WHERE kind = 'payment.started') AS started,
                      COUNT(*) FILTER (WHERE kind = 'payment.succeeded') AS succeeded,
                      COUNT(*) FILTER (WHERE kind = 'payment.failed') AS failed
                 FROM shop_orderevent GROUP BY order_id)
           SELECT o.id, COALESCE(p.started, 0), COALESCE(e.started, 0), COALESCE(p.succeeded, 0),
                  COALESCE(e.succeeded, 0), COALESCE(p.failed, 0), COALESCE(e.failed, 0)
             FROM shop_order o LEFT JOIN p ON p.order_id = o.id LEFT JOIN e ON e.order_id = o.id
            WHERE COALESCE(p.started, 0) <> COALESCE(e.started, 0)
               OR COALESCE(p.succeeded, 0) <> COALESCE(e.succeeded, 0)
               OR COALESCE(p.failed, 0) <> COALESCE(e.failed, 0)
            ORDER BY o.id""",
        describe=lambda r: (
            f"order {r[0]}: payments started/succeeded/failed {r[1]}/{r[3]}/{r[5]}, events {r[2]}/{r[4]}/{r[6]}"
        ),
    )
    c.run(
        inv,
        "refunds whose events disagree with their status (requested once; settled by one matching event)",
        """WITH e AS (
               SELECT (data ->> 'refund_id')::bigint AS refund_id,
                      COUNT(*) FILTER (WHERE kind = 'refund.requested') AS requested,
                      COUNT(*) FILTER (WHERE kind IN ('refund.succeeded', 'order.cancelled')) AS succeeded,
                      COUNT(*) FILTER (WHERE kind = 'refund.failed') AS failed
                 FROM shop_orderevent WHERE data ? 'refund_id' GROUP BY 1)
           SELECT r.id, r.status, COALESCE(e.requested, 0), COALESCE(e.succeeded, 0), COALESCE(e.failed, 0)
             FROM shop_refund r LEFT JOIN e ON e.refund_id = r.id
            WHERE COALESCE(e.requested, 0) <> 1
               OR COALESCE(e.succeeded, 0) <> (CASE WHEN r.status = 'SUCCEEDED' THEN 1 ELSE 0 END)
               OR COALESCE(e.failed, 0) <> (CASE WHEN r.status = 'FAILED' THEN 1 ELSE 0 END)
            ORDER BY r.id""",
        describe=lambda r: f"refund {r[0]} is {r[1]}: requested {r[2]}, succeeded events {r[3]}, failed events {r[4]}",
    )
    return inv


# --- 5 ------------------------------------------------------------------------------------------------


def _nothing_in_flight(c: _Checker) -> Invariant:
    inv = Invariant("5. no payment left PROCESSING (nor refund PENDING) after reconciliation")
    c.run(
        inv,
        "payments PROCESSING",
        "SELECT id, order_id, processing_started_at FROM shop_payment WHERE status = 'PROCESSING' ORDER BY id",
        describe=lambda r: f"payment {r[0]} of order {r[1]}, started {r[2]}",
    )
    c.run(
        inv,
        "orders PROCESSING",
        "SELECT id, number FROM shop_order WHERE status = 'PROCESSING' ORDER BY id",
        describe=lambda r: f"order {r[0]} {r[1]}",
    )
    c.run(
        inv,
        "refunds PENDING",
        "SELECT id, payment_id, amount, created_at FROM shop_refund WHERE status = 'PENDING' ORDER BY id",
        describe=lambda r: f"refund {r[0]} of payment {r[1]} ({r[2]}), requested {r[3]}",
    )
    return inv


def summary(invariants: list[Invariant]) -> str:
    return "\n".join(invariant.report() for invariant in invariants)
