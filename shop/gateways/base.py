"""The interface every payment provider is reached through.

Every call carries an idempotency key: calling again with the same key returns the first call's result
and never moves money twice. A timeout means the outcome is unknown (the money may have moved); the
caller must not treat it as a failure, only ask again later with `find_charge` / `find_refund`.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class GatewayResult:
    """What the provider answered for one charge or refund."""

    succeeded: bool
    reference: str = ""
    decline_code: str = ""
    message: str = ""


class GatewayTimeout(Exception):
    """No answer in time: the charge or refund may or may not have happened."""


class GatewayError(Exception):
    """The provider refused to process the call at all: nothing happened."""


class PaymentGateway(ABC):
    def __init__(self, name: str, **options):
        self.name = name
        self.options = options

    @abstractmethod
    def charge(
        self, *, amount: Decimal, currency: str, token: str, idempotency_key: str, description: str = ""
    ) -> GatewayResult: ...

    @abstractmethod
    def find_charge(self, *, idempotency_key: str) -> GatewayResult | None:
        """The result of an earlier charge with this key, or None if the provider never received it."""

    @abstractmethod
    def refund(
        self, *, charge_reference: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> GatewayResult: ...

    @abstractmethod
    def find_refund(self, *, idempotency_key: str) -> GatewayResult | None: ...
