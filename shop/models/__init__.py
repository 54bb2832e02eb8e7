from .catalog import Product, StockAdjustment
from .checkout import CheckoutSubmission
from .customers import Customer
from .events import OrderEvent
from .gateway_sandbox import SandboxTransaction
from .idempotency import IdempotencyKey
from .orders import ORDER_TRANSITIONS, Order, OrderItem
from .payments import Payment, PaymentMethod, Refund
from .webhooks import WebhookDelivery, WebhookEndpoint

__all__ = [
    "ORDER_TRANSITIONS",
    "CheckoutSubmission",
    "Customer",
    "IdempotencyKey",
    "Order",
    "OrderEvent",
    "OrderItem",
    "Payment",
    "PaymentMethod",
    "Product",
    "Refund",
    "SandboxTransaction",
    "StockAdjustment",
    "WebhookDelivery",
    "WebhookEndpoint",
]
