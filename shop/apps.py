from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ShopConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "shop"
    verbose_name = "Shop"

    def ready(self):
        from shop import signals  # noqa: F401  (connects the receivers)
        from shop.roles import ensure_roles

        # After Django has created this app's permissions (its own post_migrate receiver runs first).
        post_migrate.connect(ensure_roles, sender=self, dispatch_uid="shop.ensure_roles")
