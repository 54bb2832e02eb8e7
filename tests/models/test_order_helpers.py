"""Order's own helpers: the state machine table, order numbers and the guest access token."""

import hashlib
import re

import pytest

from shop.models import ORDER_TRANSITIONS, Order, OrderEvent
from shop.models.orders import OrderStatus, new_order_number
from tests.factories import place_order

S = OrderStatus

# DESIGN.md's table, written out independently of ORDER_TRANSITIONS so a change to either is noticed.
EXPECTED_TRANSITIONS = {
    S.PENDING: {S.PROCESSING, S.CANCELLED},
    S.FAILED: {S.PROCESSING, S.CANCELLED},
    S.PROCESSING: {S.CONFIRMED, S.FAILED},
    S.CONFIRMED: {S.COMPLETED, S.CANCELLED, S.REFUNDED},
    S.COMPLETED: {S.REFUNDED},
    S.CANCELLED: set(),
    S.REFUNDED: set(),
}

ORDER_NUMBER = re.compile(r"^ORD-[0-9A-HJKMNP-TV-Z]{10}$")


def test_the_transition_table_has_a_row_for_every_status():
    assert set(ORDER_TRANSITIONS) == set(S.values)


def test_can_transition_to_follows_the_design_table_for_every_pair_of_statuses():
    allowed = {
        (source, target) for source in S.values for target in S.values if Order(status=source).can_transition_to(target)
    }
    expected = {(source, target) for source, targets in EXPECTED_TRANSITIONS.items() for target in targets}
    assert allowed == expected


@pytest.mark.parametrize("final", [S.CANCELLED, S.REFUNDED])
def test_cancelled_and_refunded_are_final(final):
    order = Order(status=final)
    assert not any(order.can_transition_to(target) for target in S.values)


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (S.PENDING, S.CONFIRMED),
        (S.PENDING, S.COMPLETED),
        (S.PENDING, S.REFUNDED),
        (S.FAILED, S.CONFIRMED),
        (S.PROCESSING, S.CANCELLED),
        (S.CONFIRMED, S.PENDING),
        (S.COMPLETED, S.CANCELLED),
    ],
)
def test_shortcuts_around_the_state_machine_are_refused(source, target):
    assert not Order(status=source).can_transition_to(target)


@pytest.mark.parametrize("status", S.values)
def test_no_status_transitions_to_itself(status):
    assert not Order(status=status).can_transition_to(status)


def test_can_transition_to_accepts_plain_strings_and_refuses_unknown_ones():
    order = Order(status="PENDING")
    assert order.can_transition_to("PROCESSING")
    assert not order.can_transition_to("SHIPPED")
    assert not order.can_transition_to("processing")


def test_order_numbers_are_ord_and_ten_crockford_characters():
    numbers = [new_order_number() for _ in range(500)]
    assert all(ORDER_NUMBER.match(number) for number in numbers), numbers
    assert len(set(numbers)) == len(numbers)
    # All 32 symbols are used, none of I, L, O, U.
    symbols = set("".join(number[4:] for number in numbers))
    assert symbols == set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


@pytest.mark.django_db
def test_placed_orders_get_distinct_well_formed_numbers(laptop):
    orders = [place_order({laptop: 1}) for _ in range(5)]
    numbers = [order.number for order in orders]
    assert all(ORDER_NUMBER.match(number) for number in numbers), numbers
    assert len(set(numbers)) == 5
    assert sorted(Order.objects.values_list("number", flat=True)) == sorted(numbers)


def test_set_access_token_stores_the_sha256_digest_and_returns_the_token():
    order = Order()
    token = order.set_access_token()
    assert len(token) >= 32
    assert order.access_token_digest == hashlib.sha256(token.encode()).hexdigest()
    assert token not in order.access_token_digest


def test_set_access_token_draws_a_new_token_each_time():
    order = Order()
    first = order.set_access_token()
    second = order.set_access_token()
    assert first != second
    assert not order.access_token_matches(first)
    assert order.access_token_matches(second)


def test_access_token_matches_accepts_the_token_and_rejects_others():
    order = Order()
    token = order.set_access_token()
    assert order.access_token_matches(token)
    assert not order.access_token_matches(token + "x")
    assert not order.access_token_matches(token[:-1])
    assert not order.access_token_matches(order.access_token_digest)
    assert not order.access_token_matches(Order().set_access_token())


@pytest.mark.parametrize("empty", ["", None])
def test_access_token_matches_rejects_an_empty_token(empty):
    order = Order()
    order.set_access_token()
    assert not order.access_token_matches(empty)


def test_an_order_without_a_token_matches_no_token():
    assert not Order().access_token_matches("")
    assert not Order().access_token_matches("anything")


@pytest.mark.django_db
def test_a_placed_orders_token_is_not_stored_in_clear_anywhere(order):
    token = order.access_token
    assert token
    row = Order.objects.filter(pk=order.pk).values().get()
    assert row["access_token_digest"] == hashlib.sha256(token.encode()).hexdigest()
    assert not [name for name, value in row.items() if token in str(value)]
    for event in OrderEvent.objects.filter(order=order).values():
        assert token not in str(event)
    assert Order.objects.get(pk=order.pk).access_token_matches(token)
