"""Emails to the customer about their order, in plain text and HTML, from templates/emails/."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from shop.models import Order

SUBJECTS = {
    "order_placed": "Your order {number} is placed",
    "payment_failed": "The payment for order {number} failed",
    "order_cancelled": "Your order {number} is cancelled",
    "refund_issued": "A refund for order {number}",
    "order_completed": "Your order {number} is on its way",
}


def send_order_email(*, order_id: int, kind: str) -> None:
    order = Order.objects.select_related("customer").prefetch_related("items", "payments__refunds").get(pk=order_id)
    context = {"order": order, "customer": order.customer, "shop_url": settings.SHOP_BASE_URL}
    message = EmailMultiAlternatives(
        subject=SUBJECTS[kind].format(number=order.number),
        body=render_to_string(f"emails/{kind}.txt", context),
        to=[order.customer.email],
    )
    message.attach_alternative(render_to_string(f"emails/{kind}.html", context), "text/html")
    message.send()
