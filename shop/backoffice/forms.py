from decimal import Decimal

from django import forms

from shop.models import PaymentMethod
from shop.models.orders import OrderStatus
from shop.models.payments import PaymentStatus
from shop.selectors.order_desk import SORTS, OrderDeskFilters

PAGE_SIZES = [25, 50, 100]
SORT_LABELS = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "total_desc": "Total, highest first",
    "total_asc": "Total, lowest first",
    "number": "Order number",
    "status": "Status",
}


class OrderDeskForm(forms.Form):
    """The order desk's filters, read from (and kept in) the URL's query string."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={"class": "form-control", "type": "search", "placeholder": "Number, email, name, SKU"}
        ),
    )
    status = forms.MultipleChoiceField(choices=OrderStatus.choices, required=False)
    payment_status = forms.ChoiceField(choices=[("", "Any payment status"), *PaymentStatus.choices], required=False)
    payment_method = forms.ChoiceField(choices=[("", "Any payment method"), *PaymentMethod.choices], required=False)
    created_from = forms.DateField(label="Placed from", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    created_to = forms.DateField(label="Placed until", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    sort = forms.ChoiceField(choices=[(key, SORT_LABELS[key]) for key in SORTS], required=False)
    page_size = forms.TypedChoiceField(
        choices=[(size, size) for size in PAGE_SIZES], coerce=int, required=False, empty_value=PAGE_SIZES[0]
    )

    def filters(self) -> OrderDeskFilters:
        data = self.cleaned_data
        return OrderDeskFilters(
            statuses=data.get("status") or [],
            payment_status=data.get("payment_status") or "",
            payment_method=data.get("payment_method") or "",
            created_from=data.get("created_from"),
            created_to=data.get("created_to"),
            search=data.get("q") or "",
            sort=data.get("sort") or "newest",
        )


class VersionedForm(forms.Form):
    """Every order action carries the version the page showed, so a stale page cannot act."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class CancelForm(VersionedForm):
    reason = forms.CharField(max_length=255, required=False)


class RefundForm(VersionedForm):
    amount = forms.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0.01"))
    reason = forms.CharField(max_length=255, required=False)
    restock = forms.BooleanField(required=False, label="Put the stock back (when refunding everything)")


class PaymentForm(VersionedForm):
    card = forms.CharField(label="Card number or test token", max_length=200, required=False, initial="tok_visa")


class ProductForm(forms.Form):
    price = forms.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0.01"))
    is_active = forms.BooleanField(required=False, label="For sale")


class StockAdjustmentForm(forms.Form):
    delta = forms.IntegerField(label="Change (units, negative to remove)")
    reason = forms.CharField(max_length=255)


class PaymentListForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *PaymentStatus.choices], required=False)
