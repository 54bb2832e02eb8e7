from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.generics import RetrieveUpdateAPIView
from rest_framework.response import Response

from shop.api.access import IsStaff
from shop.api.errors import ErrorSerializer
from shop.api.idempotency import IdempotentPostMixin
from shop.api.serializers.customers import CustomerSerializer, ProfileSerializer
from shop.selectors.customers import customers_with_order_counts, search_customers
from shop.services.customers import create_customer, delete_customer, profile_of, update_customer

ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


@extend_schema(tags=["profile"], responses={200: ProfileSerializer, **ERRORS, 409: ErrorSerializer})
class ProfileView(RetrieveUpdateAPIView):
    """The signed-in customer's own profile."""

    serializer_class = ProfileSerializer

    def get_object(self):
        return profile_of(self.request.user)

    def perform_update(self, serializer):
        serializer.instance = update_customer(customer=serializer.instance, **serializer.validated_data)


@extend_schema_view(
    list=extend_schema(
        summary="Customers (staff)",
        parameters=[OpenApiParameter("search", str, description="Part of the email, name or phone.")],
    ),
    create=extend_schema(
        summary="Add a guest customer (staff)", responses={201: CustomerSerializer, 409: ErrorSerializer}
    ),
    retrieve=extend_schema(summary="A customer (staff)"),
    update=extend_schema(
        summary="Change a customer (staff)", responses={200: CustomerSerializer, 409: ErrorSerializer}
    ),
    partial_update=extend_schema(summary="Change some of a customer's fields (staff)"),
    destroy=extend_schema(
        summary="Delete a customer who never ordered (staff)", responses={204: None, 409: ErrorSerializer}
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

    def get_queryset(self):
        customers = customers_with_order_counts()
        if self.action == "list":
            customers = search_customers(customers, self.request.query_params.get("search", ""))
        return customers

    def perform_create(self, serializer):
        serializer.instance = create_customer(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = update_customer(customer=serializer.instance, **serializer.validated_data)

    def destroy(self, request, *args, **kwargs):
        delete_customer(customer=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
