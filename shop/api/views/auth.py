from django.contrib.auth import get_user_model
from django.db.models.functions import Lower
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenRefreshView

from shop.api.errors import ErrorSerializer
from shop.api.serializers.customers import (
    LoginSerializer,
    LogoutSerializer,
    ProfileSerializer,
    RegisteredSerializer,
    RegisterSerializer,
    TokenPairSerializer,
)
from shop.api.throttling import count_failure, forget_failures, refuse_if_too_many_failures
from shop.services.customers import register_customer

ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 409: ErrorSerializer, 429: ErrorSerializer}


class AuthView(APIView):
    """Auth endpoints: open to anyone, throttled per client. Their responses carry credentials, so an
    `Idempotency-Key` is accepted but nothing is stored (logging in twice is harmless; registering twice is 409)."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    def get_authenticate_header(self, request):
        # With no authenticators DRF would turn a failed login into 403; it is a 401.
        return 'Bearer realm="api"'


def _tokens_for(user) -> dict:
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


class RegisterView(AuthView):
    @extend_schema(
        summary="Register: a customer account, signed in at once",
        request=RegisterSerializer,
        responses={201: RegisteredSerializer, **ERRORS},
        tags=["auth"],
    )
    def post(self, request):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer = register_customer(**serializer.validated_data)
        body = {**_tokens_for(customer.user), "customer": ProfileSerializer(customer).data}
        return Response(body, status=status.HTTP_201_CREATED)


class LoginView(AuthView):
    @extend_schema(
        summary="Log in with email and password: a JWT pair",
        description="After too many failed tries for one email from one address, tries are refused (429) for a while.",
        request=LoginSerializer,
        responses={200: TokenPairSerializer, **ERRORS},
        tags=["auth"],
    )
    def post(self, request):
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        email, password = serializer.validated_data["email"], serializer.validated_data["password"]
        refuse_if_too_many_failures(email, request)
        user = _user_with_password(email, password)
        if user is None:
            count_failure(email, request)
            raise exceptions.AuthenticationFailed("Wrong email or password.")
        forget_failures(email, request)
        return Response(_tokens_for(user))


class LogoutView(AuthView):
    @extend_schema(
        summary="Log out: revoke a refresh token",
        request=LogoutSerializer,
        responses={205: None, **ERRORS},
        tags=["auth"],
    )
    def post(self, request):
        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            RefreshToken(serializer.validated_data["refresh"]).blacklist()
        except TokenError as error:
            raise exceptions.ValidationError({"refresh": [str(error)]}) from None
        return Response(status=status.HTTP_205_RESET_CONTENT)


def _user_with_password(email: str, password: str):
    user = get_user_model().objects.alias(email_ci=Lower("email")).filter(email_ci=email.lower()).first()
    if user is None or not user.is_active:
        get_user_model()().set_password(password)  # same work as a real check, so timing does not tell
        return None
    return user if user.check_password(password) else None


@extend_schema(
    summary="Exchange a refresh token for a new pair (the old one is blacklisted)",
    responses={200: TokenRefreshSerializer, 400: ErrorSerializer, 401: ErrorSerializer},
    tags=["auth"],
)
class RefreshView(TokenRefreshView):
    pass
