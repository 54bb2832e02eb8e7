from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Lower

from shop.exceptions import CustomerHasOrders, EmailTaken
from shop.models import Customer

from .actors import Actor
from .state import record_event


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


def register_customer(*, email: str, password: str, name: str, phone: str = "") -> Customer:
    """A new user account (email as the login) with its customer profile.

    Earlier guest orders under the same email stay with the guest: nobody has proved they own the address yet.
    """
    email = get_user_model().objects.normalize_email(email.strip())
    if _user_with_email(email).exists():
        raise EmailTaken(f"An account with {email} already exists.", field="email")
    try:
        with transaction.atomic():
            user = get_user_model().objects.create_user(username=email.lower(), email=email, password=password)
            return Customer.objects.create(user=user, email=email, name=name.strip(), phone=phone.strip())
    except IntegrityError:
        # The case-insensitive unique index on the user's email: another registration won the race.
        raise EmailTaken(f"An account with {email} already exists.", field="email") from None


def profile_of(user) -> Customer:
    """The signed-in user's customer profile, made from the account on first use."""
    try:
        return user.customer
    except Customer.DoesNotExist:
        name = user.get_full_name() or user.get_username()
        return Customer.objects.get_or_create(user=user, defaults={"email": user.email, "name": name})[0]


def create_customer(*, email: str, name: str, phone: str = "") -> Customer:
    """A guest customer entered by staff; one guest per email."""
    email = email.strip()
    if _guest_by_email(email):
        raise EmailTaken(f"A guest customer with {email} already exists.", field="email")
    try:
        with transaction.atomic():
            return Customer.objects.create(email=email, name=name.strip(), phone=phone.strip())
    except IntegrityError:
        raise EmailTaken(f"A guest customer with {email} already exists.", field="email") from None


def update_customer(*, customer: Customer, **changes) -> Customer:
    """Change name, phone or email; a registered customer's account email follows their profile email."""
    changes = {field: value.strip() for field, value in changes.items() if field in ("email", "name", "phone")}
    new_email = changes.get("email")
    if new_email is not None and new_email.lower() != customer.email.lower():
        _ensure_email_free(new_email, customer=customer)
    try:
        with transaction.atomic():
            for field, value in changes.items():
                setattr(customer, field, value)
            customer.save()
            if new_email is not None and customer.user_id and customer.user.email != new_email:
                customer.user.email = new_email
                customer.user.save(update_fields=["email"])
    except IntegrityError:
        raise EmailTaken(f"{new_email} is already in use.", field="email") from None
    return customer


def delete_customer(*, customer: Customer) -> None:
    """Remove a customer who never ordered; one with orders stays, so no order loses its buyer."""
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        count = customer.orders.count()
        if count:
            raise CustomerHasOrders(
                f"{customer.email} has {count} order(s) and cannot be deleted.", customer_id=customer.pk, orders=count
            )
        customer.delete()


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


def _ensure_email_free(email: str, *, customer: Customer) -> None:
    if customer.user_id:
        taken = _user_with_email(email).exclude(pk=customer.user_id).exists()
    else:
        taken = bool(_guest_by_email(email))
    if taken:
        raise EmailTaken(f"{email} is already in use.", field="email")


def _guest_by_email(email: str) -> Customer | None:
    return Customer.objects.alias(email_ci=Lower("email")).filter(user__isnull=True, email_ci=email.lower()).first()


def _user_with_email(email: str):
    return get_user_model().objects.alias(email_ci=Lower("email")).filter(email_ci=email.strip().lower())


def claim_guest_orders(*, user, email: str) -> int:
    """Move the orders a guest placed under `email` to the account that has just proved it owns that address.

    Call only for a verified address. Returns how many orders moved; each gets an event in its trail.
    """
    with transaction.atomic():
        guest = Customer.objects.select_for_update().filter(pk=getattr(_guest_by_email(email), "pk", None)).first()
        if guest is None:
            return 0
        profile = profile_of(user)
        orders = list(guest.orders.select_for_update().order_by("pk"))
        guest.orders.update(customer=profile, version=F("version") + 1)
        for order in orders:
            record_event(
                order,
                kind="order.claimed",
                actor=Actor.customer(user),
                message=f"Guest order linked to the account of {email} after the address was verified.",
                data={"from_customer": guest.pk, "to_customer": profile.pk},
            )
        guest.delete()
        return len(orders)
