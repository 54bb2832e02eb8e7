"""Pages for shoppers. Each view parses input, calls one service or selector, and renders a page or, for
an HTMX request, only the fragment that changed (a named partial of the same template)."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from shop.exceptions import (
    InsufficientStock,
    PaymentInProgress,
    PriceChanged,
    ProductMismatch,
    ProductUnavailable,
    ShopError,
)
from shop.models import Payment
from shop.rendering import render_page
from shop.selectors.catalog import product_for_sale, products_for_sale
from shop.selectors.orders import customer_order, customer_orders, order_by_token, order_events
from shop.services import Actor, Contact, cancel_order, process_payment
from shop.services.checkout import guest_token_for, new_checkout_key, order_placed_by, place_order_once
from shop.services.customers import profile_of

from .cart import Cart
from .forms import CancelForm, CheckoutForm, PayForm, QuantityForm

PRODUCTS_PER_PAGE = 12
CART_CHANGED = (PriceChanged, ProductMismatch, ProductUnavailable, InsufficientStock)


# --- Catalog ----------------------------------------------------------------------------------


@require_safe
def catalog(request):
    search = request.GET.get("q", "")
    page = Paginator(products_for_sale(search), PRODUCTS_PER_PAGE).get_page(request.GET.get("page"))
    context = {"page": page, "search": search, "cart": Cart(request.session)}
    return render_page(request, "storefront/catalog.html", context, partial="product-grid")


@require_safe
def product_detail(request, sku):
    product = product_for_sale(sku)
    if product is None:
        raise Http404("No such product.")
    cart = Cart(request.session)
    return render(request, "storefront/product.html", {"product": product, "in_cart": cart.quantity_of(sku)})


# --- Cart -------------------------------------------------------------------------------------


@require_safe
def cart_detail(request):
    return _cart_page(request)


@require_POST
def cart_add(request, sku):
    product = product_for_sale(sku)
    form = QuantityForm(request.POST or {"quantity": 1})
    cart = Cart(request.session)
    if product is None or not form.is_valid() or form.cleaned_data["quantity"] < 1:
        messages.error(request, "That product cannot be added.")
    elif cart.quantity_of(sku) + form.cleaned_data["quantity"] > product.stock:
        messages.error(request, _stock_message(product))
    else:
        cart.add(product, form.cleaned_data["quantity"])
        messages.success(request, f"{product.name} added to your cart.")
    if request.htmx:
        return render(request, "storefront/partials/cart_badge.html", {"cart": cart, "oob_messages": True})
    return redirect(_next_url(request, reverse("storefront:cart")))


@require_POST
def cart_update(request, sku):
    form = QuantityForm(request.POST)
    cart = Cart(request.session)
    product = product_for_sale(sku)
    if not form.is_valid():
        messages.error(request, "Enter a quantity from 0 to 99.")
    elif form.cleaned_data["quantity"] == 0:
        cart.remove(sku)
        messages.success(request, "The item was removed from your cart.")
    elif product is None:
        messages.error(request, "That product is no longer for sale.")
    elif form.cleaned_data["quantity"] > product.stock:
        messages.error(request, _stock_message(product))
    else:
        cart.set(product, form.cleaned_data["quantity"])
        messages.success(request, "Your cart was updated.")
    return _cart_changed(request)


@require_POST
def cart_remove(request, sku):
    Cart(request.session).remove(sku)
    messages.success(request, "The item was removed from your cart.")
    return _cart_changed(request)


def _cart_changed(request):
    if request.htmx:
        return _cart_page(request, oob=True)
    return redirect("storefront:cart")


def _cart_page(request, oob=False):
    cart = Cart(request.session)
    context = {"cart": cart, "contents": cart.contents(), "oob_messages": oob}
    return render_page(request, "storefront/cart.html", context, partial="cart-body")


def _next_url(request, default: str) -> str:
    """Back where the shopper was (same site only), or `default`."""
    candidate = request.GET.get("next", "")
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def _stock_message(product) -> str:
    if product.stock <= 0:
        return f"{product.name} is out of stock."
    return f"Only {product.stock} of {product.name} in stock."


# --- Checkout ---------------------------------------------------------------------------------


def checkout(request):
    placed = _order_already_placed(request)
    if placed is not None:
        # The same form again (a slow double click, Back and resubmit): show the order it placed.
        return redirect(_order_url(request, placed, request.POST["checkout_key"]))
    cart = Cart(request.session)
    contents = cart.contents()
    if not contents.lines:
        messages.info(request, "Your cart is empty.")
        return redirect("storefront:catalog")
    signed_in = request.user.is_authenticated
    if request.method != "POST":
        form = CheckoutForm(initial={"checkout_key": new_checkout_key()}, signed_in=signed_in)
        return render(request, "storefront/checkout.html", {"form": form, "contents": contents})
    form = CheckoutForm(request.POST, signed_in=signed_in)
    if not form.is_valid():
        if "checkout_key" in form.errors:
            # A stale or altered form: say so, and give the resubmission a fresh key.
            form.add_error(None, "This checkout form has expired. Please check the details and submit it again.")
            form.data = form.data.copy()
            form.data["checkout_key"] = str(new_checkout_key())
        return render(request, "storefront/checkout.html", {"form": form, "contents": contents}, status=400)
    try:
        result = place_order_once(key=form.cleaned_data["checkout_key"], **_order_fields(request, form, contents))
    except CART_CHANGED as error:
        cart.accept_catalog()
        messages.warning(request, f"{error.message} Please check your cart and try again.")
        return redirect("storefront:cart")
    except ShopError as error:
        form.add_error(None, error.message)
        return render(request, "storefront/checkout.html", {"form": form, "contents": contents}, status=400)
    order = result.order
    if result.created:
        cart.clear()
        _pay(request, order, form.cleaned_data["card"])
    return redirect(_order_url(request, order, form.cleaned_data["checkout_key"]))


def _order_already_placed(request):
    if request.method != "POST":
        return None
    try:
        return order_placed_by(uuid.UUID(request.POST.get("checkout_key", "")))
    except ValueError:
        return None


def _order_fields(request, form, contents) -> dict:
    data = form.cleaned_data
    fields = {
        "items": contents.order_lines(),
        "shipping_address": data["shipping_address"],
        "payment_method": data["payment_method"],
    }
    if request.user.is_authenticated:
        fields["customer"] = profile_of(request.user)
        fields["actor"] = Actor.customer(request.user)
    else:
        fields["guest"] = Contact(email=data["email"], name=data["name"], phone=data["phone"])
    return fields


def _order_url(request, order, checkout_key=None) -> str:
    if request.user.is_authenticated and order.customer.user_id == request.user.pk:
        return reverse("storefront:account-order", args=[order.number])
    return reverse("storefront:guest-order", args=[guest_token_for(checkout_key)])


def _pay(request, order, card: str) -> None:
    """Take payment through the service and say what happened."""
    try:
        payment = process_payment(order_id=order.pk, actor=_actor(request, order), token=card)
    except PaymentInProgress:
        messages.info(request, "This order's payment is already being processed.")
        return
    except ShopError as error:
        messages.error(request, error.message)
        return
    if payment.status == Payment.Status.COMPLETED:
        messages.success(request, f"Thank you! Order {order.number} is paid.")
    elif payment.status == Payment.Status.FAILED:
        messages.error(request, f"The payment was declined: {payment.failure_reason} Try another card.")
    else:
        messages.warning(request, "We are waiting for the payment provider's answer; this page will show it.")


def _actor(request, order) -> Actor:
    if request.user.is_authenticated:
        return Actor.customer(request.user)
    return Actor.guest(order.customer.email)


# --- Orders: a guest's private link, or the signed-in customer's account ----------------------


def _shopper_order(request, token=None, number=None):
    if token is not None:
        order = order_by_token(token)
    elif request.user.is_authenticated:
        order = customer_order(request.user, number)
    else:
        order = None
    if order is None:
        raise Http404("No such order.")
    return order


@require_safe
def order_detail(request, token=None, number=None):
    order = _shopper_order(request, token, number)
    context = {
        "order": order,
        "events": order_events(order),
        "pay_form": PayForm(),
        "cancel_form": CancelForm(),
        "private_link": request.build_absolute_uri(request.path) if token else "",
        "action_base": request.path,
    }
    return render_page(request, "storefront/order.html", context, partial="order-body")


@require_POST
def order_pay(request, token=None, number=None):
    order = _shopper_order(request, token, number)
    form = PayForm(request.POST)
    if form.is_valid():
        _pay(request, order, form.cleaned_data["card"])
    return redirect(request.path.removesuffix("pay/"))


@require_POST
def order_cancel(request, token=None, number=None):
    order = _shopper_order(request, token, number)
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            cancel_order(order_id=order.pk, actor=_actor(request, order), reason=form.cleaned_data["reason"])
            messages.success(request, f"Order {order.number} is cancelled.")
        except ShopError as error:
            messages.error(request, error.message)
    return redirect(request.path.removesuffix("cancel/"))


@login_required
@require_safe
def account_orders(request):
    page = Paginator(customer_orders(request.user), 20).get_page(request.GET.get("page"))
    return render(request, "storefront/account_orders.html", {"page": page})
