"""Domain errors raised by the services. Every interface maps them the same way (see `http_status`)."""

from decimal import Decimal


class ShopError(Exception):
    """Base of every domain error: a stable `code`, a sentence for people, and machine-readable `details`."""

    code = "shop_error"
    http_status = 400
    default_message = "The request could not be carried out."

    def __init__(self, message: str | None = None, **details):
        self.message = message or self.default_message
        self.details = {key: _plain(value) for key, value in details.items()}
        super().__init__(self.message)


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


class InvalidOrderInput(ShopError):
    code = "invalid_input"
    default_message = "The order is not valid."


class ProductUnavailable(ShopError):
    code = "product_unavailable"
    http_status = 409
    default_message = "A product is not for sale."


class ProductMismatch(ShopError):
    code = "product_mismatch"
    http_status = 409
    default_message = "A product's name does not match the catalog."


class PriceChanged(ShopError):
    code = "price_changed"
    http_status = 409
    default_message = "A product's price has changed."


class InsufficientStock(ShopError):
    code = "insufficient_stock"
    http_status = 409
    default_message = "Not enough stock."


class OrderNotFound(ShopError):
    code = "not_found"
    http_status = 404
    default_message = "No such order."


class InvalidTransition(ShopError):
    code = "invalid_transition"
    http_status = 409
    default_message = "The order cannot make that change in its current status."


class VersionConflict(ShopError):
    code = "version_conflict"
    http_status = 409
    default_message = "The order was changed by someone else; reload it and try again."


class PaymentInProgress(ShopError):
    code = "payment_in_progress"
    http_status = 409
    default_message = "A payment for this order is already being processed."


class RefundInProgress(ShopError):
    code = "refund_in_progress"
    http_status = 409
    default_message = "A refund for this order is still being processed."


class RefundNotAllowed(ShopError):
    code = "refund_not_allowed"
    http_status = 409
    default_message = "That refund is not possible."


class RefundFailed(ShopError):
    code = "refund_failed"
    http_status = 502
    default_message = "The payment provider refused the refund."


class GatewayNotConfigured(ShopError):
    code = "unknown_gateway"
    default_message = "No such payment gateway is configured."


class EmailTaken(ShopError):
    code = "email_taken"
    http_status = 409
    default_message = "That email address is already in use."


class CustomerHasOrders(ShopError):
    code = "customer_has_orders"
    http_status = 409
    default_message = "A customer with orders cannot be deleted."


class InvalidStockAdjustment(ShopError):
    code = "invalid_stock_adjustment"
    http_status = 409
    default_message = "That stock adjustment is not possible."


class InvalidProductChange(ShopError):
    code = "invalid_input"
    default_message = "That change to the product is not valid."
