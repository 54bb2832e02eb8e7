"""Back-office pages for integrations' webhooks: endpoints, and every delivery with its attempts."""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from shop.models import WebhookDelivery, WebhookEndpoint
from shop.models.webhooks import WEBHOOK_EVENTS
from shop.services.webhooks import retry_by_hand

from .access import staff_required


class EndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https", label="URL")
    events = forms.MultipleChoiceField(choices=WEBHOOK_EVENTS, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "events", "is_active"]


@staff_required("shop.view_webhookendpoint")
def endpoint_list(request):
    form = EndpointForm(request.POST or None, initial={"events": [name for name, _ in WEBHOOK_EVENTS]})
    if request.method == "POST":
        if not request.user.has_perm("shop.add_webhookendpoint"):
            messages.error(request, "You may not add webhook endpoints.")
        elif form.is_valid():
            endpoint = form.save()
            messages.success(request, f"Endpoint added. Its signing secret: {endpoint.secret}")
            return redirect("backoffice:webhook", pk=endpoint.pk)
    endpoints = WebhookEndpoint.objects.order_by("pk")
    return render(request, "backoffice/webhooks.html", {"endpoints": endpoints, "form": form})


@staff_required("shop.view_webhookendpoint")
def endpoint_detail(request, pk):
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    form = EndpointForm(request.POST or None, instance=endpoint)
    if request.method == "POST":
        if not request.user.has_perm("shop.change_webhookendpoint"):
            messages.error(request, "You may not change webhook endpoints.")
        elif form.is_valid():
            form.save()
            messages.success(request, "Endpoint saved.")
            return redirect("backoffice:webhook", pk=pk)
    status = request.GET.get("status", "")
    deliveries = endpoint.deliveries.order_by("-created_at", "-pk")
    if status in WebhookDelivery.Status.values:
        deliveries = deliveries.filter(status=status)
    page = Paginator(deliveries, 50).get_page(request.GET.get("page"))
    context = {"endpoint": endpoint, "form": form, "page": page, "status": status, "statuses": WebhookDelivery.Status}
    return render(request, "backoffice/webhook_detail.html", context)


@staff_required("shop.change_webhookendpoint")
@require_POST
def delivery_retry(request, pk):
    delivery = get_object_or_404(WebhookDelivery, pk=pk)
    if delivery.status != WebhookDelivery.Status.FAILED:
        messages.info(request, "Only a failed delivery can be sent again; this one is not failed.")
    else:
        retry_by_hand(delivery.pk)
        messages.success(request, f"Delivery of {delivery.event} queued again.")
    return redirect("backoffice:webhook", pk=delivery.endpoint_id)
