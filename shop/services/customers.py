from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from shop.models import Customer


def get_or_create_guest_customer(*, email: str, name: str, phone: str = "") -> Customer:
    """The guest customer for this email, whatever its case; created on the first order.

    An existing guest keeps the name and phone they first gave: anyone can type an email address.
    """
    email = email.strip()
    existing = _guest_by_email(email)
    if existing:
        return existing
    try:
        with transaction.atomic():
            return Customer.objects.create(email=email, name=name.strip(), phone=phone.strip())
    except IntegrityError:
        # Another checkout created the same guest a moment ago; its row is committed now.
        return _guest_by_email(email)


def _guest_by_email(email: str) -> Customer | None:
    return Customer.objects.alias(email_ci=Lower("email")).filter(user__isnull=True, email_ci=email.lower()).first()


def release_profile_of_deleted_user(*, user) -> None:
    """Turn a deleted user's profile back into a guest customer without losing any order.

    If a guest with the same email already exists, the profile's orders move to that guest (one guest per email).
    """
    with transaction.atomic():
        profile = Customer.objects.select_for_update().filter(user=user).first()
        if profile is None:
            return
        guest = _guest_by_email(profile.email)
        if guest is None:
            profile.user = None
            profile.save(update_fields=["user", "updated_at"])
            return
        profile.orders.update(customer=guest)
        profile.delete()
