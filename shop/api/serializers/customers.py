from django.contrib.auth import password_validation
from rest_framework import serializers

from shop.models import Customer


class CustomerSerializer(serializers.ModelSerializer):
    is_guest = serializers.BooleanField(read_only=True)
    order_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Customer
        fields = ["id", "email", "name", "phone", "is_guest", "order_count", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        # The uniqueness rules (one guest per email, one account per email) are the service's to enforce.
        validators = []


class ProfileSerializer(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "email", "name", "phone", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators = []


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=150)
    password = serializers.CharField(write_only=True, style={"input_type": "password"}, max_length=128)
    name = serializers.CharField(max_length=200)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")

    def validate_password(self, value):
        password_validation.validate_password(value)
        return value


class LoginSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(write_only=True, style={"input_type": "password"}, max_length=128)


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField(help_text="The refresh token to revoke.")


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="Send as `Authorization: Bearer <access>`.")
    refresh = serializers.CharField(help_text="Exchange at `auth/refresh/` for a new pair; revoke at `auth/logout/`.")


class RegisteredSerializer(TokenPairSerializer):
    customer = ProfileSerializer()
