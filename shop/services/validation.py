from decimal import Decimal, InvalidOperation

from shop.exceptions import InvalidOrderInput

MAX_AMOUNT = Decimal("99999999.99")
CENT = Decimal("0.01")


def validated_money(value, *, field: str) -> Decimal:
    """`value` as an amount of money (0 to MAX_AMOUNT, whole cents), or InvalidOrderInput naming `field`."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise InvalidOrderInput(f"{field} must be an amount of money.", field=field) from None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT or amount != amount.quantize(CENT):
        raise InvalidOrderInput(f"{field} must be between 0 and {MAX_AMOUNT} with at most two decimals.", field=field)
    return amount.quantize(CENT)
