"""What an order event sets off outside the database: customer emails and webhook deliveries.

Called by `record_event` inside the service's transaction: the task rows are written there too, so they
exist exactly when the change commits (a rolled-back change sends nothing, a crash after commit loses nothing).
"""

from shop.models import Order, OrderEvent, WebhookDelivery, WebhookEndpoint

EMAILS = {
    "order.created": "order_placed",
    "payment.failed": "payment_failed",
    "order.cancelled": "order_cancelled",
    "refund.succeeded": "refund_issued",
    "order.completed": "order_completed",
}
WEBHOOK_EVENTS = {
    "order.created": "order.created",
    "payment.succeeded": "order.paid",
    "payment.failed": "order.payment_failed",
    "order.cancelled": "order.cancelled",
    "refund.succeeded": "order.refunded",
    "order.completed": "order.completed",
}


def enqueue_consequences(order: Order, event: OrderEvent) -> None:
    from shop.tasks import deliver_webhook, send_order_email

    if event.kind in EMAILS:
        send_order_email.enqueue(order.pk, EMAILS[event.kind])
    webhook_event = WEBHOOK_EVENTS.get(event.kind)
    if webhook_event is None:
        return
    endpoints = [
        endpoint for endpoint in WebhookEndpoint.objects.filter(is_active=True) if endpoint.receives(webhook_event)
    ]
    if not endpoints:
        return
    payload = order_payload(order, event)
    deliveries = WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(endpoint=endpoint, event=webhook_event, payload=payload) for endpoint in endpoints]
    )
    for delivery in deliveries:
        deliver_webhook.enqueue(delivery.pk)


def order_payload(order: Order, event: OrderEvent) -> dict:
    return {
        "order": {
            "id": order.pk,
            "number": order.number,
            "status": order.status,
            "version": order.version,
            "total": str(order.total),
            "refunded_amount": str(order.refunded_amount),
            "currency": order.currency,
        },
        "change": {"kind": event.kind, "message": event.message, "data": event.data},
    }
