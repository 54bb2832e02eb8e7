"""shop.gateways.get_gateway: configured names only, the default when none is given."""

import pytest

from shop.exceptions import GatewayNotConfigured
from shop.gateways import PaymentGateway, configured_gateways, get_gateway
from shop.gateways.fake import FakeGateway


def test_no_name_gives_the_default_gateway(settings):
    gateway = get_gateway(None)
    assert isinstance(gateway, FakeGateway)
    assert isinstance(gateway, PaymentGateway)
    assert gateway.name == settings.PAYMENT_DEFAULT_GATEWAY == "fake"


def test_an_empty_name_also_gives_the_default_gateway():
    assert get_gateway("").name == "fake"


def test_the_default_follows_the_setting(settings):
    settings.PAYMENT_DEFAULT_GATEWAY = "stripe"
    assert get_gateway().name == "stripe"


def test_the_seeds_stripe_name_is_served_by_the_fake_gateway():
    gateway = get_gateway("stripe")
    assert isinstance(gateway, FakeGateway)
    assert gateway.name == "stripe"


def test_configured_gateways_lists_the_names_sorted():
    assert configured_gateways() == ["fake", "stripe"]


def test_an_unknown_name_raises_gateway_not_configured_listing_the_configured_names():
    with pytest.raises(GatewayNotConfigured) as raised:
        get_gateway("paypal")

    error = raised.value
    assert error.code == "unknown_gateway"
    assert error.http_status == 400
    assert error.details == {"gateway": "paypal", "configured": ["fake", "stripe"]}
    assert "'paypal'" in error.message
    assert "fake" in error.message and "stripe" in error.message


def test_an_unknown_default_is_refused_too(settings):
    settings.PAYMENT_DEFAULT_GATEWAY = "gone"
    with pytest.raises(GatewayNotConfigured) as raised:
        get_gateway()
    assert raised.value.details["gateway"] == "gone"


def test_names_are_case_sensitive():
    with pytest.raises(GatewayNotConfigured):
        get_gateway("Stripe")
