"""The stress test, short: two gunicorn servers, two task workers and a scheduler (real processes) against the
test database, clients racing to buy, pay, cancel and refund while the fake gateway fails or loses answers;
then the checker of `bench/invariants.py` must find nothing wrong.

And the checker itself: each invariant is shown to catch a database deliberately broken in its way.
"""

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.db.models import F

from bench import stress
from bench.invariants import check
from shop.models import Order, OrderEvent, Payment, Product, Refund, SandboxTransaction
from shop.services import cancel_order, complete_order, process_payment, reconcile_payments, refund_order
from tests.factories import ProductFactory, paid_order, place_order

# Scarcer, shorter and a little more chaotic than `bench/stress.py --quick`, so that in a few seconds the products
# sell out and the injected faults strike, on any machine.
SHORT = stress.Profile(
    "short",
    duration=8,
    shoppers=12,
    products=4,
    units=6,
    restock_units=3,
    restocks=2,
    error_rate=0.15,
    timeout_rate=0.15,
    settle_wait=3.0,
    drain_timeout=20,
)


@pytest.mark.django_db(transaction=True)
@pytest.mark.concurrency
@pytest.mark.timeout(240)
def test_racing_clients_on_two_servers_leave_every_invariant_intact(tmp_path):
    database_url = stress.database_url_from_settings(settings.DATABASES["default"])

    result = stress.run(
        SHORT, database_url=database_url, log_dir=tmp_path, seed=7, record_initial_stock=False, say=lambda _: None
    )

    report = stress.report(result) + f"\n(logs in {tmp_path})"
    for invariant in result.invariants:
        assert invariant.violations == 0, report
    assert result.server_errors == 0, report
    # It really raced, and the chaos really struck:
    db = result.database
    assert db["payments_failed_by_gateway_error"] + db["payment_answers_lost"] > 0, report
    if db["payment_answers_lost"]:
        assert db["settled_by_reconciliation"] > 0, report
    assert result.answered("pay", 409) > 0, "no payment attempt was refused as a duplicate\n" + report
    assert result.answered("refund", 409) > 0, "no refund was refused\n" + report
    assert db["refunds"].get("SUCCEEDED", 0) > 0, report
    sold_out = result.traffic["products_seen_sold_out"] + result.answered("create", 409, "insufficient_stock")
    assert sold_out > 0, "no product ever sold out\n" + report
    assert db["tasks"].get("FAILED", 0) == 0, report


# --- The checker catches what it should --------------------------------------------------------------


@pytest.fixture
def shop(db, staff, system):
    """Orders in every state, made by the services; and the products' stock before any of them."""
    laptop = ProductFactory(price=Decimal("100.00"), stock=20)
    mouse = ProductFactory(price=Decimal("25.00"), stock=20)
    initial_stock = {laptop.pk: 20, mouse.pk: 20}
    state = SimpleNamespace(initial_stock=initial_stock, laptop=laptop, mouse=mouse)
    state.pending = place_order({laptop: 1})
    state.declined = paid_order({mouse: 1}, token="tok_decline")
    state.paid = paid_order({laptop: 1, mouse: 2}, shipping_cost="5.00")
    state.partly_refunded = paid_order({laptop: 1})
    refund_order(order_id=state.partly_refunded.pk, actor=staff, amount="30.00")
    state.refunded = paid_order({mouse: 2})
    refund_order(order_id=state.refunded.pk, actor=staff, restock=True)
    state.cancelled_paid = paid_order({laptop: 1})
    cancel_order(order_id=state.cancelled_paid.pk, actor=system)
    state.cancelled_unpaid = place_order({mouse: 1})
    cancel_order(order_id=state.cancelled_unpaid.pk, actor=system)
    state.completed = paid_order({laptop: 2})
    complete_order(order_id=state.completed.pk, actor=system)
    return state


def invariant(shop, number: int):
    return check(initial_stock=shop.initial_stock)[number - 1]


def test_the_checker_finds_nothing_wrong_with_what_the_services_wrote(shop):
    statuses = set(Order.objects.values_list("status", flat=True))
    assert statuses == {"PENDING", "FAILED", "CONFIRMED", "REFUNDED", "CANCELLED", "COMPLETED"}

    invariants = check(initial_stock=shop.initial_stock)

    assert [i.violations for i in invariants] == [0, 0, 0, 0, 0], "\n".join(i.report() for i in invariants)
    assert all(not i.notes for i in invariants)


def test_invariant_1_catches_an_order_charged_twice(shop):
    # A failed attempt whose charge went through after all: the order has two succeeded charges.
    order = shop.paid
    second = Payment.objects.create(order=order, method="CREDIT_CARD", amount=order.total, status="FAILED")
    SandboxTransaction.objects.create(
        kind="CHARGE",
        idempotency_key=str(second.idempotency_key),
        reference="fake_second_charge",
        amount=order.total,
        currency="USD",
        succeeded=True,
    )

    found = invariant(shop, 1)

    assert found.checks["orders with more than one succeeded charge at the gateway"] == 1
    assert found.checks["succeeded charges not recorded as a captured payment (money taken, order not paid)"] == 1
    assert found.violations == 2
    assert any(f"order {order.pk}: 2 succeeded charges" in example for example in found.examples)


def test_invariant_2_catches_refunds_above_the_captured_amount(shop):
    # The gateway refunds the already fully refunded order's charge once more, and the shop records a refund of
    # 10.00 on the partly refunded payment without adding it to the payment.
    payment = Payment.objects.get(order=shop.refunded)
    SandboxTransaction.objects.create(
        kind="REFUND",
        idempotency_key="refunded-again",
        reference="fake_refunded_again",
        charge_reference=payment.gateway_transaction_id,
        amount=payment.amount,
        currency="USD",
        succeeded=True,
    )
    Refund.objects.create(payment=Payment.objects.get(order=shop.partly_refunded), amount="10.00", status="SUCCEEDED")

    found = invariant(shop, 2)

    assert found.checks["charges refunded above their amount at the gateway"] == 1
    assert found.checks["payments whose succeeded refunds exceed the amount or differ from refunded_amount"] == 1
    assert found.checks["succeeded refunds without a matching refund at the gateway"] == 1
    assert found.violations >= 3


def test_invariant_3_catches_stock_that_does_not_add_up(shop):
    Product.objects.filter(pk=shop.laptop.pk).update(stock=F("stock") + 1)  # a unit from nowhere

    found = invariant(shop, 3)

    assert found.checks == {
        "products with negative stock": 0,
        "products whose stock is not initial - sold + released + adjusted": 1,
        "orders whose stock was released a wrong number of times (cancelled: once; refunded: at most once)": 0,
    }
    assert found.violations == 1
    assert f"product {shop.laptop.pk}" in found.examples[0]


def test_invariant_3_catches_stock_released_twice(shop):
    # A second "stock released" event on a cancelled order, with the units really put back twice.
    order = shop.cancelled_unpaid
    OrderEvent.objects.create(order=order, kind="order.cancelled", actor_kind="SYSTEM", data={"stock_released": True})
    Product.objects.filter(pk=shop.mouse.pk).update(stock=F("stock") + 1)

    found = invariant(shop, 3)

    key = "orders whose stock was released a wrong number of times (cancelled: once; refunded: at most once)"
    assert found.checks[key] == 1
    assert found.checks["products whose stock is not initial - sold + released + adjusted"] == 0  # it adds up...
    assert found.violations == 1  # ...but the order released its units twice


def test_invariant_3_without_the_initial_stock_checks_only_that_stock_is_not_negative(shop):
    found = check()[2]

    assert found.violations == 0
    assert found.notes == ["no initial stock recorded: stock = initial - sold + released was not checked"]


def test_invariant_4_catches_a_status_its_payments_and_events_do_not_explain(shop):
    Order.objects.filter(pk=shop.pending.pk).update(status="CONFIRMED")  # no payment, no event
    Order.objects.filter(pk=shop.completed.pk).update(version=F("version") + 1)  # a change nobody recorded

    found = invariant(shop, 4)

    assert found.checks["orders whose status disagrees with their payments"] == 1
    assert found.checks["orders whose last status event does not lead to their status"] == 1
    assert found.checks["orders whose version is not 1 + the events that changed them"] == 1
    assert found.violations == 3


def test_invariant_4_catches_a_transition_the_state_machine_does_not_allow(shop):
    OrderEvent.objects.create(
        order=shop.refunded, kind="tampered", actor_kind="SYSTEM", from_status="REFUNDED", to_status="CONFIRMED"
    )

    found = invariant(shop, 4)

    key = "status events that break the state machine (wrong start, from != previous to, or not allowed)"
    assert found.checks[key] == 1
    assert found.checks["orders whose last status event does not lead to their status"] == 1


def test_invariant_5_catches_a_payment_left_processing_until_reconciled(shop, system):
    order = place_order({shop.mouse: 1})
    process_payment(order_id=order.pk, actor=system, token="tok_timeout")  # charged, the answer lost

    found = invariant(shop, 5)

    assert found.checks == {"payments PROCESSING": 1, "orders PROCESSING": 1, "refunds PENDING": 0}
    assert [i.violations for i in check(initial_stock=shop.initial_stock)[:4]] == [0, 0, 0, 0]

    reconcile_payments(older_than=timedelta(0))

    assert [i.violations for i in check(initial_stock=shop.initial_stock)] == [0, 0, 0, 0, 0]
    assert Order.objects.get(pk=order.pk).status == "CONFIRMED"


def test_invariant_5_catches_a_refund_left_pending(shop, staff):
    order = paid_order({shop.mouse: 1}, token="tok_refund_timeout")
    refund_order(order_id=order.pk, actor=staff, amount="5.00")  # the gateway's answer is lost

    found = invariant(shop, 5)

    assert found.checks == {"payments PROCESSING": 0, "orders PROCESSING": 0, "refunds PENDING": 1}
    reconcile_payments(older_than=timedelta(0))
    assert [i.violations for i in check(initial_stock=shop.initial_stock)] == [0, 0, 0, 0, 0]
