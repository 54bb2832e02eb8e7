from django.conf import settings
from django.db import models
from django.db.models.functions import Lower


class Customer(models.Model):
    """Someone who orders: a registered user's profile, or a guest known only by email."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="customer"
    )
    email = models.EmailField()
    name = models.CharField(max_length=200)
    phone = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # A guest who orders twice with the same email (any case) is the same guest.
            models.UniqueConstraint(
                Lower("email"), condition=models.Q(user__isnull=True), name="customer_unique_guest_email_ci"
            ),
        ]
        indexes = [models.Index(Lower("email"), name="customer_email_ci_idx")]

    def __str__(self):
        return f"{self.name} <{self.email}>"

    @property
    def is_guest(self) -> bool:
        return self.user_id is None
