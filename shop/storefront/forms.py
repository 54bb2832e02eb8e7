from django import forms

from shop.models import PaymentMethod
from shop.storefront.cart import MAX_QUANTITY_PER_LINE

CARD_HELP = "Test tokens: tok_visa or 4242424242424242 (paid), tok_decline or 4000000000000002 (declined)."


class QuantityForm(forms.Form):
    quantity = forms.IntegerField(min_value=0, max_value=MAX_QUANTITY_PER_LINE, initial=1)


class PayForm(forms.Form):
    card = forms.CharField(
        label="Card number or test token", max_length=200, required=False, initial="tok_visa", help_text=CARD_HELP
    )

    def clean_card(self):
        return "".join(self.cleaned_data["card"].split())


class CheckoutForm(PayForm):
    checkout_key = forms.UUIDField(widget=forms.HiddenInput)
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    name = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    phone = forms.CharField(max_length=32, required=False, widget=forms.TextInput(attrs={"autocomplete": "tel"}))
    shipping_address = forms.CharField(
        max_length=2000, widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "street-address"})
    )
    payment_method = forms.ChoiceField(choices=PaymentMethod.choices, initial=PaymentMethod.CREDIT_CARD)
    field_order = ["checkout_key", "email", "name", "phone", "shipping_address", "payment_method", "card"]

    def __init__(self, *args, signed_in: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if signed_in:
            # A signed-in customer orders as themselves: their profile holds the contact details.
            for field in ("email", "name", "phone"):
                del self.fields[field]


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=255, required=False, label="Reason (optional)")
