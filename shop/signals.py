from allauth.account.signals import email_confirmed
from django.conf import settings
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from shop.services.customers import claim_guest_orders, release_profile_of_deleted_user


# A receiver rather than a service call so that every way of deleting a user (admin, shell, API) keeps orders.
@receiver(pre_delete, sender=settings.AUTH_USER_MODEL)
def keep_orders_of_deleted_user(sender, instance, **kwargs):
    release_profile_of_deleted_user(user=instance)


@receiver(email_confirmed)
def give_verified_owner_their_guest_orders(sender, request, email_address, **kwargs):
    claim_guest_orders(user=email_address.user, email=email_address.email)
