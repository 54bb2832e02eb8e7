"""The back office's roles, as Django groups with permissions. Superusers may do everything."""

SUPPORT = [
    "view_order",
    "view_customer",
    "view_product",
    "view_payment",
    "view_refund",
    "take_payment",
    "cancel_order",
    "complete_order",
]
ROLES = {
    "Support": SUPPORT,
    "Finance": [*SUPPORT, "refund_order"],
    "Catalog": ["view_product", "change_product", "adjust_stock"],
}


def ensure_roles(sender=None, **kwargs):
    """Create the groups (idempotent). Runs after every migrate, and so after a test database is flushed."""
    from django.contrib.auth.models import Group, Permission

    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*Permission.objects.filter(content_type__app_label="shop", codename__in=codenames))
