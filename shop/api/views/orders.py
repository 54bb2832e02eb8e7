"""Orders over JSON: each action parses input, finds the caller's order, calls one service, answers."""

import django_filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from shop.api import examples
from shop.api.access import (
    ORDER_TOKEN_HEADER,
    IsAuthenticatedOrHoldsOrderToken,
    actor_for,
    etag_for,
    expected_version,
    is_staff,
    order_token_of,
)
from shop.api.errors import ErrorSerializer, error_response
from shop.api.filters import UtcDateTimeFilter
from shop.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from shop.api.idempotency import IdempotentPostMixin
from shop.api.serializers.orders import (
    CancelSerializer,
    CompleteSerializer,
    CreatedOrderSerializer,
    OrderCreateSerializer,
    OrderDetailSerializer,
    OrderSerializer,
    ProcessPaymentSerializer,
    RefundSerializer,
)
from shop.models import Order, Payment, Refund
from shop.models.orders import OrderStatus
from shop.selectors.orders import decline_code_of, order_events, orders_visible_to, search_orders
from shop.services import (
    Contact,
    OrderLine,
    cancel_order,
    complete_order,
    create_order,
    process_payment,
    refund_order,
)
from shop.services.customers import profile_of


class OrderFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=OrderStatus.choices)
    search = django_filters.CharFilter(method="filter_search", label="Part of the order number or customer email")
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Order
        fields = ["status", "search", "created_after", "created_before"]

    def filter_search(self, queryset, name, value):
        return search_orders(queryset, value)


IDEMPOTENCY = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    str,
    OpenApiParameter.HEADER,
    description="Up to 255 characters. A retry with the same key and body replays the first response.",
)
ORDER_TOKEN = OpenApiParameter(
    ORDER_TOKEN_HEADER,
    str,
    OpenApiParameter.HEADER,
    description="A guest's access to their order: the `access_token` returned when it was created.",
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    description='The order version you saw, as its ETag gives it ("3"). A changed order is refused with 409.',
)
ERRORS = dict.fromkeys((400, 401, 403, 404, 409, 422, 429), ErrorSerializer)
ACTION_PARAMETERS = [IF_MATCH, IDEMPOTENCY, ORDER_TOKEN]
# A JWT, or a guest's order token (the `orderToken` scheme is declared in SPECTACULAR_SETTINGS).
OWNER_OR_TOKEN = [{"jwtAuth": []}, {"orderToken": []}]


@extend_schema_view(
    list=extend_schema(
        summary="Orders: a customer's own, or all for staff",
        parameters=[OpenApiParameter("page_size", int, description="Up to 100; 20 by default.")],
    ),
    retrieve=extend_schema(
        summary="One order, with its payments, refunds and event timeline",
        auth=OWNER_OR_TOKEN,
        parameters=[ORDER_TOKEN],
        responses={200: OrderDetailSerializer, **ERRORS},
    ),
    create=extend_schema(
        summary="Place an order (guest checkout without a token)",
        description=(
            "All or nothing: the catalog price is the truth (a different `unit_price` is refused with 409 and the "
            "current price), stock is reserved, a pending payment is recorded. Signed-in customers order as "
            "themselves; everyone else gives `customer_email` and `customer_name` and gets `access_token` back once."
        ),
        request=OrderCreateSerializer,
        auth=[{"jwtAuth": []}, {}],
        parameters=[IDEMPOTENCY],
        responses={201: CreatedOrderSerializer, **ERRORS},
        examples=[examples.SEED_GUEST_ORDER],
    ),
)
@extend_schema(tags=["orders"], responses={200: OrderSerializer, **ERRORS})
class OrderViewSet(
    IdempotentPostMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    filterset_class = OrderFilter

    def get_permissions(self):
        if self.action == "create":
            return [AllowAny()]
        if self.action == "list":
            return [IsAuthenticated()]
        return [IsAuthenticatedOrHoldsOrderToken()]

    def get_queryset(self, details: bool | None = None):
        if details is None:
            details = self.action in ("list", "retrieve")
        return orders_visible_to(self.request.user, order_token=order_token_of(self.request), details=details)

    def get_serializer_class(self):
        return OrderDetailSerializer if self.action == "retrieve" else OrderSerializer

    def retrieve(self, request, *args, **kwargs):
        order = self.get_object()
        order.timeline = order_events(order)
        return _order_response(order, OrderDetailSerializer)

    def create(self, request, *args, **kwargs):
        user = request.user
        customer = profile_of(user) if user.is_authenticated and not user.is_staff else None
        serializer = OrderCreateSerializer(data=request.data, context={"needs_contact": customer is None})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        guest = None
        if customer is None:
            guest = Contact(email=data["customer_email"], name=data["customer_name"], phone=data["customer_phone"])
        order = create_order(
            items=[_order_line(line) for line in data["items"]],
            shipping_address=data["shipping_address"],
            payment_method=data["payment_method"],
            shipping_cost=data["shipping_cost"],
            customer=customer,
            guest=guest,
            actor=actor_for(request, guest_email=guest.email if guest else ""),
        )
        access_token = getattr(order, "access_token", None) if customer is None else None
        order = orders_visible_to(user, order_token=access_token or "").get(pk=order.pk)
        order.access_token = access_token
        response = _order_response(order, CreatedOrderSerializer, status=status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(f"{order.pk}/")
        return response

    @extend_schema(
        summary="Take payment: charge the order's total once",
        description=(
            "200 with the paid order; 402 with the reason when the payment is declined (pay again with another "
            "card); 202 when the provider's answer was lost (the payment stays PROCESSING until reconciliation)."
        ),
        request=ProcessPaymentSerializer,
        auth=OWNER_OR_TOKEN,
        parameters=ACTION_PARAMETERS,
        responses={200: OrderSerializer, 202: OrderSerializer, 402: ErrorSerializer, **ERRORS},
        examples=[examples.SEED_PAYMENT],
    )
    @action(detail=True, methods=["post"], url_path="process-payment")
    def process_payment(self, request, pk=None):
        data, version = self._action_input(ProcessPaymentSerializer)
        order = self.get_object()
        payment = process_payment(
            order_id=order.pk,
            actor=actor_for(request, guest_email=order.customer.email),
            gateway=data.get("payment_gateway"),
            token=data["payment_token"],
            payment_method=data.get("payment_method"),
            expected_version=version,
        )
        order = self._reloaded(order)
        if payment.status == Payment.Status.FAILED:
            return _declined(order, payment)
        return _order_response(order, status=status.HTTP_202_ACCEPTED if payment.status != "COMPLETED" else 200)

    @extend_schema(
        summary="Cancel: unpaid orders release their stock; paid ones are refunded in full first",
        request=CancelSerializer,
        auth=OWNER_OR_TOKEN,
        parameters=ACTION_PARAMETERS,
        responses={200: OrderSerializer, 202: OrderSerializer, 502: ErrorSerializer, **ERRORS},
        examples=[examples.SEED_CANCEL],
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        data, version = self._action_input(CancelSerializer)
        order = self.get_object()
        actor = actor_for(request, guest_email=order.customer.email)
        cancel_order(order_id=order.pk, actor=actor, reason=data["reason"], expected_version=version)
        order = self._reloaded(order)
        return _order_response(order, status=200 if order.status == OrderStatus.CANCELLED else 202)

    @extend_schema(
        summary="Refund all or part of a paid order (staff)",
        description="Partial refunds add up to at most what was captured; the one that reaches it makes the order "
        "REFUNDED. 202 when the provider's answer was lost (the refund stays PENDING).",
        request=RefundSerializer,
        parameters=ACTION_PARAMETERS,
        responses={200: OrderSerializer, 202: OrderSerializer, 502: ErrorSerializer, **ERRORS},
        examples=[examples.SEED_REFUND],
    )
    @action(detail=True, methods=["post"])
    def refund(self, request, pk=None):
        data, version = self._action_input(RefundSerializer)
        order = self._staff_only(self.get_object())
        refund = refund_order(
            order_id=order.pk,
            actor=actor_for(request),
            amount=data.get("amount"),
            reason=data["reason"],
            restock=data["restock"],
            expected_version=version,
        )
        pending = refund.status == Refund.Status.PENDING
        return _order_response(self._reloaded(order), status=202 if pending else 200)

    @extend_schema(
        summary="Mark a paid order fulfilled (staff)",
        request=CompleteSerializer,
        parameters=ACTION_PARAMETERS,
    )
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        _, version = self._action_input(CompleteSerializer)
        order = self._staff_only(self.get_object())
        complete_order(order_id=order.pk, actor=actor_for(request), expected_version=version)
        return _order_response(self._reloaded(order))

    def _action_input(self, serializer_class):
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data, expected_version(self.request, serializer.validated_data.get("version"))

    def _staff_only(self, order: Order) -> Order:
        # The caller may see the order (else get_object gave 404), so a refusal tells them nothing new.
        if not is_staff(self.request.user):
            raise exceptions.PermissionDenied("Only staff may do this.")
        return order

    def _reloaded(self, order: Order) -> Order:
        return self.get_queryset(details=True).get(pk=order.pk)


def _order_line(line: dict) -> OrderLine:
    return OrderLine(
        sku=line["product_sku"],
        quantity=line["quantity"],
        expected_unit_price=line.get("unit_price"),
        expected_name=line.get("product_name"),
    )


def _order_response(order: Order, serializer_class=OrderSerializer, status: int = 200) -> Response:
    return Response(serializer_class(order).data, status=status, headers={"ETag": etag_for(order)})


def _declined(order: Order, payment: Payment) -> Response:
    details = {
        "order_id": order.pk,
        "status": order.status,
        "version": order.version,
        "payment_id": payment.pk,
        "decline_code": decline_code_of(payment),
    }
    response = error_response(402, "payment_declined", payment.failure_reason or "The payment was declined.", details)
    response["ETag"] = etag_for(order)
    return response
