from django.conf import settings
from django.utils.module_loading import import_string

from shop.exceptions import GatewayNotConfigured

from .base import GatewayError, GatewayResult, GatewayTimeout, PaymentGateway

__all__ = ["GatewayError", "GatewayResult", "GatewayTimeout", "PaymentGateway", "configured_gateways", "get_gateway"]


def configured_gateways() -> list[str]:
    return sorted(settings.PAYMENT_GATEWAYS)


def get_gateway(name: str | None = None) -> PaymentGateway:
    """The gateway configured under `name` (the default one when None); unknown names are refused."""
    name = name or settings.PAYMENT_DEFAULT_GATEWAY
    config = settings.PAYMENT_GATEWAYS.get(name)
    if config is None:
        raise GatewayNotConfigured(
            f"Unknown payment gateway {name!r}; configured: {', '.join(configured_gateways())}.",
            gateway=name,
            configured=configured_gateways(),
        )
    return import_string(config["BACKEND"])(name, **config.get("OPTIONS", {}))
