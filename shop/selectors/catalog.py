from django.db.models import Q, QuerySet

from shop.models import Product


def products_for_sale(search: str = "") -> QuerySet[Product]:
    """Active products by name; `search` matches part of the name, SKU or description, in any case."""
    products = Product.objects.filter(is_active=True).order_by("name", "pk")
    search = search.strip()
    if search:
        products = products.filter(
            Q(name__icontains=search) | Q(sku__icontains=search) | Q(description__icontains=search)
        )
    return products


def product_for_sale(sku: str) -> Product | None:
    return Product.objects.filter(is_active=True, sku=sku).first()


def products_by_sku(skus) -> dict[str, Product]:
    return {product.sku: product for product in Product.objects.filter(sku__in=list(skus))}


def products_for_staff(search: str = "") -> QuerySet[Product]:
    """Every product, for sale or not, by name; `search` matches part of the name or SKU."""
    products = Product.objects.order_by("name", "pk")
    if search:
        products = products.filter(Q(name__icontains=search) | Q(sku__icontains=search))
    return products
