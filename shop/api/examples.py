"""The seed's request bodies, shown in the API docs (and replayed by the tests as written)."""

from drf_spectacular.utils import OpenApiExample

SEED_GUEST_ORDER_BODY = {
    "customer_email": "john@example.com",
    "customer_name": "John Doe",
    "customer_phone": "998901234567",
    "shipping_address": "123 Main St, Tashkent, Uzbekistan",
    "shipping_cost": "5.00",
    "payment_method": "CREDIT_CARD",
    "items": [
        {"product_name": "Laptop", "product_sku": "LAP-001", "quantity": 1, "unit_price": "1000.00"},
        {"product_name": "Mouse", "product_sku": "MOU-001", "quantity": 2, "unit_price": "25.00"},
    ],
}
SEED_PAYMENT_BODY = {"payment_gateway": "stripe"}
SEED_CANCEL_BODY = {"reason": "Customer requested cancellation"}
SEED_REFUND_BODY = {"reason": "Product defective", "amount": "525.00"}

SEED_GUEST_ORDER = OpenApiExample("Guest checkout", value=SEED_GUEST_ORDER_BODY, request_only=True)
SEED_PAYMENT = OpenApiExample("Pay through the sandbox 'stripe' gateway", value=SEED_PAYMENT_BODY, request_only=True)
SEED_CANCEL = OpenApiExample("Cancel", value=SEED_CANCEL_BODY, request_only=True)
SEED_REFUND = OpenApiExample("Partial refund", value=SEED_REFUND_BODY, request_only=True)
