from django.conf import settings

from .cart import Cart


def shop(request):
    """What every page's header needs: the cart badge and the currency."""
    return {"cart": Cart(request.session), "SHOP_CURRENCY": settings.SHOP_CURRENCY}
