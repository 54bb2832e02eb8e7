"""Input serializers check shape and types; the services decide everything else."""

from decimal import Decimal

from rest_framework import serializers

from shop.models import Customer, Order, OrderEvent, OrderItem, Payment, PaymentMethod, Refund
from shop.services.orders import MAX_LINES, MAX_QUANTITY
from shop.services.validation import MAX_AMOUNT

MONEY = {"max_digits": 10, "decimal_places": 2}


class VersionedInputSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        required=False, min_value=1, help_text="The order version you saw; or send it as `If-Match`."
    )


class OrderLineInputSerializer(serializers.Serializer):
    product_sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    product_name = serializers.CharField(
        max_length=200, required=False, help_text="If given, must match the catalog's name."
    )
    unit_price = serializers.DecimalField(
        **MONEY, min_value=Decimal("0"), required=False, help_text="If given, must equal the catalog price."
    )


class OrderCreateSerializer(serializers.Serializer):
    customer_email = serializers.EmailField(required=False, help_text="Guest checkout: required without a token.")
    customer_name = serializers.CharField(max_length=200, required=False)
    customer_phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    shipping_address = serializers.CharField(max_length=2000)
    shipping_cost = serializers.DecimalField(
        **MONEY, min_value=Decimal("0"), max_value=MAX_AMOUNT, required=False, default=Decimal("0.00")
    )
    payment_method = serializers.ChoiceField(choices=PaymentMethod.choices)
    items = OrderLineInputSerializer(many=True, allow_empty=False, max_length=MAX_LINES)

    def validate(self, attrs):
        if self.context.get("needs_contact"):
            missing = {
                field: ["This field is required for a guest order."]
                for field in ("customer_email", "customer_name")
                if not attrs.get(field)
            }
            if missing:
                raise serializers.ValidationError(missing)
        return attrs


class ProcessPaymentSerializer(VersionedInputSerializer):
    payment_gateway = serializers.CharField(
        max_length=32, required=False, help_text="A configured gateway's name; the default one if left out."
    )
    payment_token = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text="The card token; with the fake gateway a test token such as tok_visa or tok_decline.",
    )
    payment_method = serializers.ChoiceField(
        choices=PaymentMethod.choices, required=False, help_text="Change the method chosen at checkout."
    )


class CancelSerializer(VersionedInputSerializer):
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class RefundSerializer(VersionedInputSerializer):
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    amount = serializers.DecimalField(
        **MONEY, min_value=Decimal("0.01"), required=False, help_text="Left out: everything not yet refunded."
    )
    restock = serializers.BooleanField(required=False, default=False, help_text="Put the stock back (full refunds).")


class CompleteSerializer(VersionedInputSerializer):
    pass


class CustomerSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "email", "name", "phone"]


class OrderItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderItem
        fields = ["product_sku", "product_name", "unit_price", "quantity", "line_total"]


class RefundOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Refund
        fields = ["id", "amount", "status", "reason", "failure_reason", "created_at", "processed_at"]


class PaymentOutputSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(source="gateway_transaction_id", allow_null=True)
    refunds = RefundOutputSerializer(many=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "method",
            "status",
            "amount",
            "refunded_amount",
            "currency",
            "gateway",
            "reference",
            "failure_reason",
            "created_at",
            "processed_at",
            "refunds",
        ]


class OrderSerializer(serializers.ModelSerializer):
    customer = CustomerSummarySerializer()
    items = OrderItemSerializer(many=True)
    payments = PaymentOutputSerializer(many=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "status",
            "version",
            "customer",
            "items",
            "subtotal",
            "shipping_cost",
            "total",
            "refunded_amount",
            "currency",
            "shipping_address",
            "payments",
            "created_at",
            "updated_at",
        ]


class OrderEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderEvent
        fields = ["kind", "actor_kind", "actor_label", "from_status", "to_status", "message", "created_at"]


class OrderDetailSerializer(OrderSerializer):
    events = OrderEventSerializer(many=True, source="timeline")

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "events"]


class CreatedOrderSerializer(OrderSerializer):
    access_token = serializers.CharField(
        allow_null=True,
        help_text="Shown once: a guest presents it as `X-Order-Token` to read, pay or cancel this order.",
    )

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "access_token"]
