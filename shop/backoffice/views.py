"""The back office: staff pages on the same services as everything else. Views parse, authorise, call one
service or selector, and render (for HTMX, only the named partial that changed)."""

import csv
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from shop.exceptions import ShopError, VersionConflict
from shop.models import Customer, Order, Payment, Product, Refund
from shop.models.orders import OrderStatus
from shop.rendering import render_page
from shop.selectors.catalog import products_for_staff
from shop.selectors.customers import customer_orders_with_totals, customers_with_order_counts, search_customers
from shop.selectors.dashboard import daily_series, orders_about_to_expire, period_figures, stuck_payments
from shop.selectors.order_desk import order_desk
from shop.selectors.orders import order_events, orders_with_details, payments_by_status
from shop.services import Actor, cancel_order, complete_order, process_payment, refund_order
from shop.services.catalog import adjust_stock, update_product

from .access import staff_required
from .chart import bar_chart
from .forms import (
    CancelForm,
    OrderDeskForm,
    PaymentForm,
    PaymentListForm,
    ProductForm,
    RefundForm,
    StockAdjustmentForm,
    VersionedForm,
)

CSV_COLUMNS = ["number", "created_at", "status", "payment_status", "payment_method", "email", "name", "total"]


@staff_required("shop.view_order")
@require_safe
def dashboard(request):
    series = daily_series()
    context = {
        "periods": period_figures(),
        "chart": bar_chart(series),
        "stuck_payments": stuck_payments()[:20],
        "expiring_orders": orders_about_to_expire()[:20],
    }
    return render(request, "backoffice/dashboard.html", context)


# --- Order desk -------------------------------------------------------------------------------


@staff_required("shop.view_order")
@require_safe
def order_list(request):
    form = OrderDeskForm(request.GET)
    form.is_valid()  # invalid filters are dropped (and shown as errors); the rest still apply
    page_size = form.cleaned_data.get("page_size") or 25
    page = Paginator(order_desk(form.filters()), page_size).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    return render_page(request, "backoffice/orders.html", context, partial="order-table")


@staff_required("shop.view_order")
@require_safe
def order_export(request):
    form = OrderDeskForm(request.GET)
    form.is_valid()
    orders = order_desk(form.filters()).iterator(chunk_size=2000)
    response = StreamingHttpResponse(_csv_rows(orders), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="orders.csv"'
    return response


def _csv_rows(orders):
    class Echo:
        def write(self, value):
            return value

    writer = csv.writer(Echo())
    yield writer.writerow(CSV_COLUMNS)
    for order in orders:
        attempt = order.attempts[0] if order.attempts else None
        yield writer.writerow(
            [
                order.number,
                order.created_at.isoformat(),
                order.status,
                attempt.status if attempt else "",
                attempt.method if attempt else "",
                _spreadsheet_safe(order.customer.email),
                _spreadsheet_safe(order.customer.name),
                order.total,
            ]
        )


def _spreadsheet_safe(text: str) -> str:
    """Customer-typed text that a spreadsheet would run as a formula is written as text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@staff_required("shop.view_order")
@require_safe
def order_detail(request, number):
    order = get_object_or_404(orders_with_details(), number=number)
    user = request.user
    context = {
        "order": order,
        "events": order_events(order).select_related(None),
        "can": {
            "pay": user.has_perm("shop.take_payment") and order.can_be_paid,
            "cancel": user.has_perm("shop.cancel_order") and order.can_be_cancelled,
            "complete": user.has_perm("shop.complete_order") and order.can_transition_to("COMPLETED"),
            "refund": user.has_perm("shop.refund_order")
            and order.can_transition_to("REFUNDED")
            and order.refundable_amount > 0,
        },
        # Prefixes keep the four forms' field ids apart, so each label points at its own field.
        "pay_form": PaymentForm(initial={"version": order.version}, auto_id="pay_%s"),
        "cancel_form": CancelForm(initial={"version": order.version}, auto_id="cancel_%s"),
        "complete_form": VersionedForm(initial={"version": order.version}, auto_id="complete_%s"),
        "refund_form": RefundForm(
            initial={"version": order.version, "amount": order.refundable_amount}, auto_id="refund_%s"
        ),
    }
    return render(request, "backoffice/order_detail.html", context)


UNKNOWN_OUTCOME = None  # the provider's answer was lost: reconciliation will settle it


def _order_action(request, number, form_class, act):
    """Run one order action with the version the page showed; say what happened and show the order again.

    `act` returns the success message, or UNKNOWN_OUTCOME when the payment provider's answer was lost.
    """
    order = get_object_or_404(Order, number=number)
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("backoffice:order", number=number)
    try:
        success = act(order, form.cleaned_data, Actor.staff(request.user), form.cleaned_data["version"])
    except VersionConflict:
        messages.warning(
            request,
            f"Order {number} was changed by someone else while you were looking at it; nothing was done. "
            "Here is its current state.",
        )
    except ShopError as error:
        messages.error(request, error.message)
    else:
        if success is UNKNOWN_OUTCOME:
            messages.warning(
                request,
                "The payment provider's answer was lost, so the outcome is not known yet; reconciliation will "
                "settle it. Nothing will be charged or refunded twice.",
            )
        else:
            messages.success(request, success)
    return redirect("backoffice:order", number=number)


@staff_required("shop.take_payment")
@require_POST
def order_pay(request, number):
    def act(order, data, actor, version):
        payment = process_payment(order_id=order.pk, actor=actor, token=data["card"], expected_version=version)
        if payment.status == Payment.Status.FAILED:
            raise ShopError(f"The payment was declined: {payment.failure_reason}")
        if payment.status == Payment.Status.PROCESSING:
            return UNKNOWN_OUTCOME
        return f"Payment taken for order {number}."

    return _order_action(request, number, PaymentForm, act)


@staff_required("shop.cancel_order")
@require_POST
def order_cancel(request, number):
    def act(order, data, actor, version):
        cancelled = cancel_order(order_id=order.pk, actor=actor, reason=data["reason"], expected_version=version)
        if cancelled.status != OrderStatus.CANCELLED:
            return UNKNOWN_OUTCOME
        return f"Order {number} cancelled."

    return _order_action(request, number, CancelForm, act)


@staff_required("shop.complete_order")
@require_POST
def order_complete(request, number):
    def act(order, data, actor, version):
        complete_order(order_id=order.pk, actor=actor, expected_version=version)
        return f"Order {number} marked fulfilled."

    return _order_action(request, number, VersionedForm, act)


@staff_required("shop.refund_order")
@require_POST
def order_refund(request, number):
    def act(order, data, actor, version):
        refund = refund_order(
            order_id=order.pk,
            actor=actor,
            amount=data["amount"],
            reason=data["reason"],
            restock=data["restock"],
            expected_version=version,
        )
        if refund.status == Refund.Status.PENDING:
            return UNKNOWN_OUTCOME
        return f"Refund of {refund.amount} issued for order {number}."

    return _order_action(request, number, RefundForm, act)


def _search_text(request) -> str:
    # PostgreSQL cannot compare text with NUL characters; nobody searches for them.
    return request.GET.get("q", "").replace("\x00", "").strip()[:200]


def _form_errors(form) -> str:
    return " ".join(f"{field}: {', '.join(errors)}" for field, errors in form.errors.items())


# --- Customers, catalog, payments -------------------------------------------------------------


@staff_required("shop.view_customer")
@require_safe
def customer_list(request):
    search = _search_text(request)
    page = Paginator(search_customers(customers_with_order_counts(), search), 25).get_page(request.GET.get("page"))
    context = {"page": page, "search": search, "query": urlencode({"q": search}) if search else ""}
    return render_page(request, "backoffice/customers.html", context, partial="customer-table")


@staff_required("shop.view_customer")
@require_safe
def customer_detail(request, pk):
    customer = get_object_or_404(Customer.objects.select_related("user"), pk=pk)
    orders, totals = customer_orders_with_totals(customer)
    context = {"customer": customer, "orders": orders[:100], "totals": totals}
    return render(request, "backoffice/customer_detail.html", context)


@staff_required("shop.view_product")
@require_safe
def product_list(request):
    search = _search_text(request)
    page = Paginator(products_for_staff(search), 50).get_page(request.GET.get("page"))
    context = {"page": page, "search": search, "query": urlencode({"q": search}) if search else ""}
    return render_page(request, "backoffice/products.html", context, partial="product-table")


@staff_required("shop.view_product")
@require_safe
def product_detail(request, pk):
    product = get_object_or_404(Product, pk=pk)
    context = {
        "product": product,
        "product_form": ProductForm(initial={"price": product.price, "is_active": product.is_active}),
        "stock_form": StockAdjustmentForm(),
        "adjustments": product.stock_adjustments.select_related("created_by")[:50],
    }
    return render(request, "backoffice/product_detail.html", context)


@staff_required("shop.change_product")
@require_POST
def product_update(request, pk):
    product = get_object_or_404(Product, pk=pk)
    form = ProductForm(request.POST)
    if form.is_valid():
        try:
            update_product(product_id=product.pk, **form.cleaned_data)
            messages.success(request, f"{product.name} updated.")
        except ShopError as error:
            messages.error(request, error.message)
    else:
        messages.error(request, _form_errors(form))
    return redirect("backoffice:product", pk=pk)


@staff_required("shop.adjust_stock")
@require_POST
def product_adjust_stock(request, pk):
    product = get_object_or_404(Product, pk=pk)
    form = StockAdjustmentForm(request.POST)
    if form.is_valid():
        try:
            adjustment = adjust_stock(product_id=product.pk, user=request.user, **form.cleaned_data)
            messages.success(request, f"Stock of {product.name} is now {adjustment.stock_after}.")
        except ShopError as error:
            messages.error(request, error.message)
    else:
        messages.error(request, _form_errors(form))
    return redirect("backoffice:product", pk=pk)


@staff_required("shop.view_payment")
@require_safe
def payment_list(request):
    form = PaymentListForm(request.GET)
    status = form.cleaned_data["status"] if form.is_valid() else ""
    page = Paginator(payments_by_status(status), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    return render_page(request, "backoffice/payments.html", context, partial="payment-table")
