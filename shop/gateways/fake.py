"""A payment gateway for development and tests that behaves like a real one.

Its ledger lives in the database (`SandboxTransaction`), so every server process and worker sees the
same gateway, and it honours idempotency keys exactly as a provider does: the same key returns the same
result and never a second charge. Test tokens (or the well-known test card numbers) choose the outcome:

| token                                      | charge                           |
|--------------------------------------------|----------------------------------|
| "" / tok_visa / 4242424242424242           | succeeds                         |
| tok_decline / 4000000000000002             | declined (card_declined)         |
| tok_insufficient_funds / 4000000000009995  | declined (insufficient_funds)    |
| tok_gateway_error / 4000000000000119       | GatewayError, nothing recorded   |
| tok_timeout / 4000000000000259             | charged, but the answer is lost  |
| tok_refund_decline                         | succeeds; refunds on it declined |
| tok_refund_timeout                         | succeeds; refunds on it time out |
| anything else                              | declined (invalid_token)         |
"""

import random
import time
import uuid
from decimal import Decimal

from django.db import IntegrityError, transaction

from shop.models import SandboxTransaction

from .base import GatewayError, GatewayResult, GatewayTimeout, PaymentGateway

SUCCESS = "success"
DECLINE = "card_declined"
INSUFFICIENT_FUNDS = "insufficient_funds"
GATEWAY_ERROR = "gateway_error"
TIMEOUT = "timeout"
REFUND_DECLINE = "refund_decline"
REFUND_TIMEOUT = "refund_timeout"

TEST_TOKENS = {
    "": SUCCESS,
    "tok_visa": SUCCESS,
    "tok_success": SUCCESS,
    "4242424242424242": SUCCESS,
    "tok_decline": DECLINE,
    "tok_chargeDeclined": DECLINE,
    "4000000000000002": DECLINE,
    "tok_insufficient_funds": INSUFFICIENT_FUNDS,
    "4000000000009995": INSUFFICIENT_FUNDS,
    "tok_gateway_error": GATEWAY_ERROR,
    "4000000000000119": GATEWAY_ERROR,
    "tok_timeout": TIMEOUT,
    "4000000000000259": TIMEOUT,
    "tok_refund_decline": REFUND_DECLINE,
    "tok_refund_timeout": REFUND_TIMEOUT,
}

_DECLINE_MESSAGES = {
    DECLINE: "Your card was declined.",
    INSUFFICIENT_FUNDS: "Your card has insufficient funds.",
    "invalid_token": "The card details were not recognised.",
    REFUND_DECLINE: "The refund was declined by the card issuer.",
}


def outcome_for(token: str) -> str:
    return TEST_TOKENS.get((token or "").replace(" ", ""), "invalid_token")


class FakeGateway(PaymentGateway):
    def _pause(self):
        latency_ms = self.options.get("latency_ms", 0)
        if latency_ms:
            time.sleep(latency_ms / 1000)

    def _injected_fault(self) -> str | None:
        """Chaos for stress tests: options `error_rate` and `timeout_rate` turn a share of successful charges
        into gateway errors (nothing charged) or lost answers (charged, answer lost)."""
        roll = random.random()
        if roll < self.options.get("error_rate", 0):
            return GATEWAY_ERROR
        if roll < self.options.get("error_rate", 0) + self.options.get("timeout_rate", 0):
            return TIMEOUT
        return None

    def charge(self, *, amount, currency, token, idempotency_key, description=""):
        self._pause()
        outcome = outcome_for(token)
        if outcome == SUCCESS:
            outcome = self._injected_fault() or outcome
        if outcome == GATEWAY_ERROR:
            raise GatewayError("The payment provider could not process the request.")
        succeeded = outcome in (SUCCESS, TIMEOUT, REFUND_DECLINE, REFUND_TIMEOUT)
        entry, created = self._record(
            kind=SandboxTransaction.Kind.CHARGE,
            idempotency_key=idempotency_key,
            amount=amount,
            currency=currency,
            succeeded=succeeded,
            scenario=outcome,
            decline_code="" if succeeded else outcome,
            message="" if succeeded else _DECLINE_MESSAGES[outcome],
        )
        if created and outcome == TIMEOUT:
            raise GatewayTimeout("The payment provider did not answer in time.")
        return _result(entry)

    def find_charge(self, *, idempotency_key):
        return self._find(SandboxTransaction.Kind.CHARGE, idempotency_key)

    def refund(self, *, charge_reference, amount, currency, idempotency_key):
        self._pause()
        charge = SandboxTransaction.objects.filter(
            kind=SandboxTransaction.Kind.CHARGE, reference=charge_reference
        ).first()
        if charge is None:
            raise GatewayError(f"No charge {charge_reference!r} to refund.")
        refunded = sum(
            SandboxTransaction.objects.filter(
                kind=SandboxTransaction.Kind.REFUND, charge_reference=charge_reference, succeeded=True
            ).values_list("amount", flat=True),
            Decimal(0),
        )
        declined = charge.scenario == REFUND_DECLINE or refunded + amount > charge.amount
        entry, created = self._record(
            kind=SandboxTransaction.Kind.REFUND,
            idempotency_key=idempotency_key,
            charge_reference=charge_reference,
            amount=amount,
            currency=currency,
            succeeded=not declined,
            scenario=charge.scenario,
            decline_code=REFUND_DECLINE if declined else "",
            message=_DECLINE_MESSAGES[REFUND_DECLINE] if declined else "",
        )
        if created and charge.scenario == REFUND_TIMEOUT:
            raise GatewayTimeout("The payment provider did not answer in time.")
        return _result(entry)

    def find_refund(self, *, idempotency_key):
        return self._find(SandboxTransaction.Kind.REFUND, idempotency_key)

    def _find(self, kind, idempotency_key):
        entry = SandboxTransaction.objects.filter(kind=kind, idempotency_key=idempotency_key).first()
        return _result(entry) if entry else None

    def _record(self, *, kind, idempotency_key, **fields) -> tuple[SandboxTransaction, bool]:
        """Write the ledger entry once per key; a repeated key gets the first entry back (created False)."""
        existing = SandboxTransaction.objects.filter(idempotency_key=idempotency_key).first()
        if existing:
            return existing, False
        try:
            with transaction.atomic():
                entry = SandboxTransaction.objects.create(
                    kind=kind, idempotency_key=idempotency_key, reference=f"fake_{uuid.uuid4().hex}", **fields
                )
                return entry, True
        except IntegrityError:
            return SandboxTransaction.objects.get(idempotency_key=idempotency_key), False


def _result(entry: SandboxTransaction) -> GatewayResult:
    return GatewayResult(
        succeeded=entry.succeeded,
        reference=entry.reference,
        decline_code=entry.decline_code,
        message=entry.message,
    )
