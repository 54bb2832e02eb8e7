"""The fake gateway behaves like a real provider: test tokens pick the outcome, idempotency keys are honoured."""

from decimal import Decimal

import pytest

from shop.gateways import GatewayError, GatewayResult, GatewayTimeout, get_gateway
from shop.gateways.fake import FakeGateway
from shop.models import SandboxTransaction

pytestmark = pytest.mark.django_db

Kind = SandboxTransaction.Kind


@pytest.fixture
def gateway():
    return get_gateway("fake")


def _charge(gateway, token="tok_visa", key="charge-1", amount="100.00"):
    return gateway.charge(amount=Decimal(amount), currency="USD", token=token, idempotency_key=key)


def _refund(gateway, charge_reference, amount, key):
    return gateway.refund(
        charge_reference=charge_reference, amount=Decimal(amount), currency="USD", idempotency_key=key
    )


def _rows(kind=None) -> int:
    entries = SandboxTransaction.objects.all()
    return (entries.filter(kind=kind) if kind else entries).count()


# --- Charges --------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["", "tok_visa", "tok_success", "4242424242424242", "4242 4242 4242 4242"])
def test_a_successful_token_charges_and_records_one_ledger_entry(gateway, token):
    result = _charge(gateway, token=token)

    assert result.succeeded
    assert result.reference.startswith("fake_")
    assert (result.decline_code, result.message) == ("", "")
    entry = SandboxTransaction.objects.get()
    assert (entry.kind, entry.reference, entry.amount, entry.currency, entry.succeeded) == (
        Kind.CHARGE,
        result.reference,
        Decimal("100.00"),
        "USD",
        True,
    )
    assert entry.idempotency_key == "charge-1"


@pytest.mark.parametrize(
    ("token", "code", "message"),
    [
        ("tok_decline", "card_declined", "Your card was declined."),
        ("4000000000000002", "card_declined", "Your card was declined."),
        ("tok_insufficient_funds", "insufficient_funds", "Your card has insufficient funds."),
        ("4000000000009995", "insufficient_funds", "Your card has insufficient funds."),
        ("tok_no_such_token", "invalid_token", "The card details were not recognised."),
    ],
)
def test_a_declining_token_is_declined_with_its_code_and_recorded_as_failed(gateway, token, code, message):
    result = _charge(gateway, token=token)

    assert not result.succeeded
    assert (result.decline_code, result.message) == (code, message)
    entry = SandboxTransaction.objects.get()
    assert not entry.succeeded
    assert entry.decline_code == code


@pytest.mark.parametrize("token", ["tok_gateway_error", "4000000000000119"])
def test_a_gateway_error_raises_and_records_nothing(gateway, token):
    with pytest.raises(GatewayError):
        _charge(gateway, token=token)

    assert _rows() == 0
    assert gateway.find_charge(idempotency_key="charge-1") is None


def test_after_a_gateway_error_the_same_key_may_be_charged_for_real(gateway):
    with pytest.raises(GatewayError):
        _charge(gateway, token="tok_gateway_error")

    assert _charge(gateway, token="tok_visa").succeeded
    assert _rows(Kind.CHARGE) == 1


@pytest.mark.parametrize("token", ["tok_timeout", "4000000000000259"])
def test_a_timeout_records_a_successful_charge_and_then_raises(gateway, token):
    with pytest.raises(GatewayTimeout):
        _charge(gateway, token=token)

    entry = SandboxTransaction.objects.get()
    assert (entry.kind, entry.succeeded) == (Kind.CHARGE, True)
    found = gateway.find_charge(idempotency_key="charge-1")
    assert found == GatewayResult(succeeded=True, reference=entry.reference)


def test_repeating_a_timed_out_charge_returns_the_recorded_success_without_raising_or_charging_again(gateway):
    with pytest.raises(GatewayTimeout):
        _charge(gateway, token="tok_timeout")
    reference = SandboxTransaction.objects.get().reference

    result = _charge(gateway, token="tok_timeout")

    assert result.succeeded
    assert result.reference == reference
    assert _rows() == 1


def test_the_same_idempotency_key_never_charges_twice(gateway):
    first = _charge(gateway, key="same")
    second = _charge(gateway, key="same")
    third = _charge(gateway, key="same", amount="999.00")

    assert first == second == third
    assert _rows(Kind.CHARGE) == 1
    assert SandboxTransaction.objects.get().amount == Decimal("100.00")


def test_a_repeated_key_returns_the_first_answer_even_with_another_token(gateway):
    declined = _charge(gateway, token="tok_decline", key="k")
    again = _charge(gateway, token="tok_visa", key="k")

    assert not again.succeeded
    assert again == declined
    assert _rows() == 1


def test_different_keys_are_different_charges(gateway):
    first = _charge(gateway, key="a")
    second = _charge(gateway, key="b")

    assert first.reference != second.reference
    assert _rows(Kind.CHARGE) == 2


def test_find_charge_returns_the_recorded_result_or_none_for_an_unknown_key(gateway):
    declined = _charge(gateway, token="tok_decline", key="known")

    assert gateway.find_charge(idempotency_key="known") == declined
    assert gateway.find_charge(idempotency_key="unknown") is None


def test_find_charge_does_not_return_a_refund(gateway):
    charge = _charge(gateway)
    _refund(gateway, charge.reference, "10.00", key="refund-1")

    assert gateway.find_charge(idempotency_key="refund-1") is None
    assert gateway.find_refund(idempotency_key="charge-1") is None


def test_the_gateway_carries_its_configured_latency(gateway, settings):
    settings.PAYMENT_GATEWAYS = {"slow": {"BACKEND": "shop.gateways.fake.FakeGateway", "OPTIONS": {"latency_ms": 1}}}
    slow = get_gateway("slow")
    assert isinstance(slow, FakeGateway)
    assert slow.options == {"latency_ms": 1}
    assert _charge(slow).succeeded


# --- Refunds --------------------------------------------------------------------------------------


def test_a_refund_of_a_successful_charge_succeeds_and_is_recorded(gateway):
    charge = _charge(gateway)

    result = _refund(gateway, charge.reference, "40.00", key="refund-1")

    assert result.succeeded
    assert result.reference.startswith("fake_") and result.reference != charge.reference
    entry = SandboxTransaction.objects.get(kind=Kind.REFUND)
    assert (entry.charge_reference, entry.amount, entry.succeeded) == (charge.reference, Decimal("40.00"), True)
    assert gateway.find_refund(idempotency_key="refund-1") == result


def test_partial_refunds_may_add_up_to_the_charge_but_not_beyond(gateway):
    charge = _charge(gateway)

    assert _refund(gateway, charge.reference, "40.00", key="r1").succeeded
    assert _refund(gateway, charge.reference, "60.00", key="r2").succeeded
    over = _refund(gateway, charge.reference, "0.01", key="r3")

    assert not over.succeeded
    assert over.decline_code == "refund_decline"
    refunded = SandboxTransaction.objects.filter(kind=Kind.REFUND, succeeded=True).values_list("amount", flat=True)
    assert sum(refunded) == Decimal("100.00")


def test_a_single_refund_larger_than_the_charge_is_declined(gateway):
    charge = _charge(gateway)

    result = _refund(gateway, charge.reference, "100.01", key="r1")

    assert not result.succeeded
    assert not SandboxTransaction.objects.filter(kind=Kind.REFUND, succeeded=True).exists()


def test_a_declined_refund_does_not_use_up_the_refundable_amount(gateway):
    charge = _charge(gateway)
    assert not _refund(gateway, charge.reference, "150.00", key="too-much").succeeded

    assert _refund(gateway, charge.reference, "100.00", key="all").succeeded


def test_refunds_on_a_tok_refund_decline_charge_are_declined(gateway):
    charge = _charge(gateway, token="tok_refund_decline")
    assert charge.succeeded

    result = _refund(gateway, charge.reference, "10.00", key="r1")

    assert not result.succeeded
    assert (result.decline_code, result.message) == ("refund_decline", "The refund was declined by the card issuer.")


def test_a_refund_on_a_tok_refund_timeout_charge_raises_timeout_but_is_recorded(gateway):
    charge = _charge(gateway, token="tok_refund_timeout")
    assert charge.succeeded

    with pytest.raises(GatewayTimeout):
        _refund(gateway, charge.reference, "10.00", key="r1")

    found = gateway.find_refund(idempotency_key="r1")
    assert found is not None and found.succeeded
    again = _refund(gateway, charge.reference, "10.00", key="r1")
    assert again == found
    assert _rows(Kind.REFUND) == 1


def test_a_repeated_refund_key_is_idempotent_and_counts_once(gateway):
    charge = _charge(gateway)

    first = _refund(gateway, charge.reference, "30.00", key="r1")
    second = _refund(gateway, charge.reference, "30.00", key="r1")

    assert first == second and first.succeeded
    assert _rows(Kind.REFUND) == 1
    # Only 30.00 is used up, so the remaining 70.00 can still be refunded.
    assert _refund(gateway, charge.reference, "70.00", key="r2").succeeded


def test_find_refund_returns_none_for_an_unknown_key(gateway):
    assert gateway.find_refund(idempotency_key="nope") is None


def test_refund_of_a_charge_the_gateway_never_made_is_a_gateway_error_and_records_nothing(gateway):
    with pytest.raises(GatewayError, match="No charge"):
        _refund(gateway, "ch_does_not_exist", "10.00", key="r-unknown")

    assert _rows(Kind.REFUND) == 0
