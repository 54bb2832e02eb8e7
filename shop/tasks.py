"""Background work, run by `manage.py db_worker`. Tasks are enqueued inside the service's own transaction
(the database task backend writes the task row there), so a task exists exactly when its change committed."""

from django.utils import timezone
from django_tasks import task

from shop.models import WebhookDelivery
from shop.services.emails import send_order_email as send_order_email_now
from shop.services.webhooks import attempt_delivery


@task()
def send_order_email(order_id: int, kind: str) -> None:
    send_order_email_now(order_id=order_id, kind=kind)


@task()
def deliver_webhook(delivery_id: int) -> str:
    delivery = attempt_delivery(delivery_id)
    if delivery.status == WebhookDelivery.Status.PENDING and delivery.next_retry_at:
        deliver_webhook.using(run_after=max(delivery.next_retry_at, timezone.now())).enqueue(delivery.pk)
    return delivery.status
