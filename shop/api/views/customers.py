import django_filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.generics import RetrieveUpdateAPIView
from rest_framework.response import Response

from shop.api.access import IsStaff
from shop.api.errors import ErrorSerializer
from shop.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from shop.api.idempotency import IdempotentPostMixin
from shop.api.serializers.customers import CustomerSerializer, ProfileSerializer
from shop.selectors.customers import customers_with_order_counts, search_customers
from shop.services.customers import create_customer, delete_customer, profile_of, update_customer

ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}
CHANGE_ERRORS = {**ERRORS, 409: ErrorSerializer}
IDEMPOTENCY = OpenApiParameter(
    IDEMPOTENCY_HEADER, str, OpenApiParameter.HEADER, description="A retry with the same key and body replays."
)


class CustomerFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", label="Part of the email, name or phone")

    def filter_search(self, queryset, name, value):
        return search_customers(queryset, value)


@extend_schema(tags=["profile"], responses={200: ProfileSerializer, **ERRORS, 409: ErrorSerializer})
class ProfileView(RetrieveUpdateAPIView):
    """The signed-in customer's own profile."""

    serializer_class = ProfileSerializer

    def get_object(self):
        return profile_of(self.request.user)

    def perform_update(self, serializer):
        serializer.instance = update_customer(customer=serializer.instance, **serializer.validated_data)


@extend_schema_view(
    list=extend_schema(summary="Customers (staff)"),
    create=extend_schema(
        summary="Add a guest customer (staff)",
        parameters=[IDEMPOTENCY],
        responses={201: CustomerSerializer, **CHANGE_ERRORS, 422: ErrorSerializer},
    ),
    retrieve=extend_schema(summary="A customer (staff)"),
    update=extend_schema(summary="Change a customer (staff)", responses={200: CustomerSerializer, **CHANGE_ERRORS}),
    partial_update=extend_schema(
        summary="Change some of a customer's fields (staff)", responses={200: CustomerSerializer, **CHANGE_ERRORS}
    ),
    destroy=extend_schema(
        summary="Delete a customer who never ordered (staff)", responses={204: None, **CHANGE_ERRORS}
    ),
)
@extend_schema(tags=["customers"], responses={200: CustomerSerializer, **ERRORS})
class CustomerViewSet(
    IdempotentPostMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = CustomerSerializer
    permission_classes = [IsStaff]
    filterset_class = CustomerFilter

    def get_queryset(self):
        return customers_with_order_counts()

    def perform_create(self, serializer):
        serializer.instance = create_customer(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = update_customer(customer=serializer.instance, **serializer.validated_data)

    def destroy(self, request, *args, **kwargs):
        delete_customer(customer=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
