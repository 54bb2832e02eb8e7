from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from shop.exceptions import (
    InsufficientStock,
    InvalidOrderInput,
    PriceChanged,
    ProductMismatch,
    ProductUnavailable,
    RefundInProgress,
)
from shop.locks import lock_order, lock_payments_of, lock_products_by_sku
from shop.models import Customer, Order, OrderItem, Payment, PaymentMethod, Product, Refund
from shop.models.orders import OrderStatus, new_order_number

from .actors import Actor
from .customers import get_or_create_guest_customer
from .inventory import release_stock, take_stock
from .state import change_order, check_version, ensure_transition, record_event
from .validation import MAX_AMOUNT, validated_money

MAX_LINES = 100
MAX_QUANTITY = 10_000


@dataclass(frozen=True)
class OrderLine:
    """One requested line. `expected_*` are what the buyer saw; the catalog decides, a mismatch is refused."""

    sku: str
    quantity: int
    expected_unit_price: Decimal | None = None
    expected_name: str | None = None


@dataclass(frozen=True)
class Contact:
    email: str
    name: str
    phone: str = ""


def create_order(
    *,
    items: Sequence[OrderLine],
    shipping_address: str,
    payment_method: str,
    shipping_cost: Decimal | str | int = Decimal("0.00"),
    customer: Customer | None = None,
    guest: Contact | None = None,
    actor: Actor | None = None,
    access_token: str | None = None,
) -> Order:
    """Place an order all or nothing: check the lines against the catalog, reserve the stock, record it.

    Exactly one of `customer` (a known customer) or `guest` (contact details) is given. The returned
    order carries `access_token`, the guest's secret for following the order (random unless the caller
    supplies an unguessable one); it is not stored in clear.
    """
    lines = _validated_lines(items)
    shipping_cost = validated_money(shipping_cost, field="shipping_cost")
    _validate_order_fields(
        shipping_address=shipping_address, payment_method=payment_method, customer=customer, guest=guest
    )
    with transaction.atomic():
        if customer is None:
            customer = get_or_create_guest_customer(email=guest.email, name=guest.name, phone=guest.phone)
        actor = actor or _actor_for(customer)
        products = _products_for(lines)
        take_stock({products[line.sku].pk: line.quantity for line in lines})
        subtotal = sum((products[line.sku].price * line.quantity for line in lines), Decimal("0.00"))
        total = subtotal + shipping_cost
        if total <= 0 or total > MAX_AMOUNT:
            raise InvalidOrderInput(f"The order total must be between 0.01 and {MAX_AMOUNT}.", total=total)
        order = _insert_order(
            customer=customer,
            subtotal=subtotal,
            shipping_cost=shipping_cost,
            shipping_address=shipping_address.strip(),
            access_token=access_token,
        )
        OrderItem.objects.bulk_create([_item_for(order, products[line.sku], line.quantity) for line in lines])
        Payment.objects.create(order=order, method=payment_method, amount=total, currency=order.currency)
        record_event(
            order,
            kind="order.created",
            actor=actor,
            to_status=order.status,
            message=f"Order placed: {len(lines)} line(s), total {total} {order.currency}.",
            data={"total": total, "lines": [{"sku": line.sku, "quantity": line.quantity} for line in lines]},
        )
    return order


def cancel_order(*, order_id: int, actor: Actor, reason: str = "", expected_version: int | None = None) -> Order:
    """Cancel an order. Unpaid: its stock goes back. Paid: refunded in full through the gateway first."""
    from .refunds import carry_out_refund, reserve_refund

    with transaction.atomic():
        order = lock_order(order_id)
        check_version(order, expected_version)
        ensure_transition(order, OrderStatus.CANCELLED)
        if order.status != OrderStatus.CONFIRMED:
            _cancel_unpaid(order, actor=actor, reason=reason)
            return order
        refund = reserve_refund(order, actor=actor, amount=None, reason=reason, cancels_order=True)
    carry_out_refund(refund, actor=actor)
    return Order.objects.get(pk=order_id)


def complete_order(*, order_id: int, actor: Actor, expected_version: int | None = None) -> Order:
    """Mark a paid order fulfilled."""
    with transaction.atomic():
        order = lock_order(order_id)
        check_version(order, expected_version)
        ensure_transition(order, OrderStatus.COMPLETED)
        if Refund.objects.filter(payment__order=order, status=Refund.Status.PENDING).exists():
            raise RefundInProgress(f"Order {order.number} has a refund in progress; complete it afterwards.")
        change_order(
            order, kind="order.completed", actor=actor, status=OrderStatus.COMPLETED, message="Order fulfilled."
        )
    return order


def release_expired_orders(*, older_than: timedelta | None = None, actor: Actor | None = None) -> list[str]:
    """Cancel unpaid orders placed before `older_than` ago and put their stock back; return their numbers.

    Safe to run from several processes at once: each order is cancelled under its row lock, and an order
    that was paid or cancelled in the meantime is left alone.
    """
    if older_than is None:
        older_than = timedelta(minutes=settings.UNPAID_ORDER_TTL_MINUTES)
    actor = actor or Actor.system("expiry")
    cutoff = timezone.now() - older_than
    candidates = Order.objects.filter(
        status__in=[OrderStatus.PENDING, OrderStatus.FAILED], created_at__lt=cutoff
    ).values_list("pk", flat=True)
    released = []
    for order_id in list(candidates):
        order = _expire_if_still_unpaid(order_id=order_id, cutoff=cutoff, actor=actor)
        if order is not None:
            released.append(order.number)
    return released


def _expire_if_still_unpaid(*, order_id: int, cutoff, actor: Actor) -> Order | None:
    # The candidate list was read without locks: the order may have been paid since. Decide again under its lock.
    with transaction.atomic():
        order = lock_order(order_id)
        if order.status not in (OrderStatus.PENDING, OrderStatus.FAILED) or order.created_at >= cutoff:
            return None
        _cancel_unpaid(order, actor=actor, reason="Unpaid order expired.")
        return order


def _cancel_unpaid(order: Order, *, actor: Actor, reason: str) -> None:
    for payment in lock_payments_of(order):
        if payment.status == Payment.Status.PENDING:
            payment.status = Payment.Status.FAILED
            payment.failure_reason = "Order cancelled before payment."
            payment.save(update_fields=["status", "failure_reason", "updated_at"])
    release_stock(list(order.items.all()))
    change_order(
        order,
        kind="order.cancelled",
        actor=actor,
        status=OrderStatus.CANCELLED,
        message=reason or "Order cancelled.",
        data={"stock_released": True},
    )


def _validated_lines(items: Sequence[OrderLine]) -> list[OrderLine]:
    if not items:
        raise InvalidOrderInput("An order needs at least one item.", field="items")
    if len(items) > MAX_LINES:
        raise InvalidOrderInput(f"An order may have at most {MAX_LINES} lines.", field="items")
    lines, seen = [], set()
    for index, line in enumerate(items):
        sku = (line.sku or "").strip()
        if not sku:
            raise InvalidOrderInput("Every item needs a product SKU.", field="items", index=index)
        if sku in seen:
            raise InvalidOrderInput(f"SKU {sku} is listed twice; give it once with the total quantity.", sku=sku)
        if isinstance(line.quantity, bool) or not isinstance(line.quantity, int):
            raise InvalidOrderInput(f"Quantity for {sku} must be a whole number.", sku=sku)
        if not 1 <= line.quantity <= MAX_QUANTITY:
            raise InvalidOrderInput(f"Quantity for {sku} must be between 1 and {MAX_QUANTITY}.", sku=sku)
        seen.add(sku)
        expected = None
        if line.expected_unit_price is not None:
            expected = validated_money(line.expected_unit_price, field="unit_price")
        lines.append(
            OrderLine(sku=sku, quantity=line.quantity, expected_unit_price=expected, expected_name=line.expected_name)
        )
    return lines


def _validate_order_fields(*, shipping_address, payment_method, customer, guest) -> None:
    if (customer is None) == (guest is None):
        raise InvalidOrderInput("Give either a customer or a guest's contact details.")
    if guest is not None and not (guest.email or "").strip():
        raise InvalidOrderInput("A guest order needs an email address.", field="customer_email")
    if not (shipping_address or "").strip():
        raise InvalidOrderInput("A shipping address is required.", field="shipping_address")
    if payment_method not in PaymentMethod.values:
        raise InvalidOrderInput(
            f"Unknown payment method {payment_method!r}.", field="payment_method", allowed=PaymentMethod.values
        )


def _actor_for(customer: Customer) -> Actor:
    return Actor.customer(customer.user) if customer.user_id else Actor.guest(customer.email)


def _products_for(lines: list[OrderLine]) -> dict[str, Product]:
    """Lock the products of the lines (by pk, so orders never deadlock) and check each line against them."""
    products = {product.sku: product for product in lock_products_by_sku(line.sku for line in lines)}
    shortages = []
    for line in lines:
        product = products.get(line.sku)
        if product is None or not product.is_active:
            raise ProductUnavailable(f"Product {line.sku} is not for sale.", sku=line.sku)
        if line.expected_name is not None and line.expected_name.strip() != product.name:
            raise ProductMismatch(
                f"Product {line.sku} is called {product.name!r}, not {line.expected_name!r}.",
                sku=line.sku,
                expected_name=line.expected_name,
                current_name=product.name,
            )
        if line.expected_unit_price is not None and line.expected_unit_price != product.price:
            raise PriceChanged(
                f"The price of {product.name} ({line.sku}) is now {product.price}, not {line.expected_unit_price}.",
                sku=line.sku,
                expected_price=line.expected_unit_price,
                current_price=product.price,
            )
        if product.stock < line.quantity:
            shortages.append({"sku": line.sku, "requested": line.quantity, "available": product.stock})
    if shortages:
        names = ", ".join(f"{s['sku']} ({s['available']} left, {s['requested']} asked)" for s in shortages)
        raise InsufficientStock(f"Not enough stock: {names}.", items=shortages)
    return products


def _insert_order(*, access_token: str | None, **fields) -> Order:
    """Insert the order; on the rare clash of random order numbers, draw another."""
    order = Order(currency=settings.SHOP_CURRENCY, total=fields["subtotal"] + fields["shipping_cost"], **fields)
    order.access_token = order.set_access_token(access_token)
    for _ in range(5):
        try:
            with transaction.atomic():
                order.save(force_insert=True)
            return order
        except IntegrityError:
            if not Order.objects.filter(number=order.number).exists():
                raise
            order.number = new_order_number()
    raise IntegrityError("Could not draw a free order number in five attempts.")


def _item_for(order: Order, product: Product, quantity: int) -> OrderItem:
    return OrderItem(
        order=order,
        product=product,
        product_sku=product.sku,
        product_name=product.name,
        unit_price=product.price,
        quantity=quantity,
        line_total=product.price * quantity,
    )
