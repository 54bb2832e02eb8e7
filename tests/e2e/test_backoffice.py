"""Staff in the back office: the order desk's filters, partial and full refunds, what each role is offered, and
two tabs acting on the same order."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from shop.models import Order, Refund
from shop.services import Actor, cancel_order
from tests.e2e import shopper, staff
from tests.factories import paid_order, place_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CUSTOMER = "ada@example.com"
FINANCE = "fiona.finance@example.com"
SUPPORT = "sam.support@example.com"
MINUS = "\N{MINUS SIGN}"  # refund rows show their amount with a minus sign, not a hyphen


@pytest.fixture
def confirmed_order(catalog):
    """A paid guest order: 1 laptop + 2 mice + 5.00 shipping = 1055.00, CONFIRMED."""
    return paid_order({catalog["laptop"]: 1, catalog["mouse"]: 2}, shipping_cost="5.00", email=CUSTOMER)


@pytest.fixture
def other_orders(catalog):
    """Orders the desk's filters must leave out: the same customer's unpaid and cancelled orders, and other
    customers' confirmed ones."""
    laptop, mouse = catalog["laptop"], catalog["mouse"]
    unpaid = place_order({mouse: 1}, email=CUSTOMER)
    cancelled = paid_order({mouse: 3}, email=CUSTOMER)
    cancel_order(order_id=cancelled.pk, actor=Actor.system("tests"), reason="Changed mind")
    return [
        unpaid,
        cancelled,
        paid_order({laptop: 1}, email="grace@example.com"),
        paid_order({mouse: 2}, email="alan@example.com"),
    ]


def test_finance_filters_the_desk_in_place_then_refunds_part_and_the_rest_and_the_order_is_refunded(
    page, watch, confirmed_order, other_orders, final_screenshot
):
    final_screenshot(page, "backoffice-refunded-order")
    number = confirmed_order.number
    staff.staff_member("Finance", FINANCE)
    staff.log_in(page, FINANCE, "/backoffice/orders/")
    staff.expect_order_count(page, 5)

    # The filters reload only the table, through htmx, and the address bar keeps them.
    shopper.mark_document(page)
    page.get_by_label("Status").select_option("CONFIRMED")
    staff.expect_order_count(page, 3)
    expect(page).to_have_url(re.compile(r"[?&]status=CONFIRMED\b"))
    page.get_by_label("Search").fill(CUSTOMER)
    staff.expect_order_count(page, 1)
    expect(page).to_have_url(re.compile(r"[?&]q=ada%40example\.com\b"))
    query = staff.query_of(page)
    assert (query["status"], query["q"]) == (["CONFIRMED"], [CUSTOMER])
    # Let any search still in flight land before the page is left, or the navigation aborts it.
    page.get_by_label("Search").blur()
    staff.wait_for_htmx(page)
    staff.expect_order_count(page, 1)
    shopper.assert_same_document(page)
    expect(staff.order_rows(page)).to_have_count(1)
    row = staff.order_rows(page).first
    expect(row).to_contain_text(CUSTOMER)
    expect(row).to_contain_text("Confirmed")
    expect(row).to_contain_text("1055.00")

    row.get_by_role("link", name=number).click()
    expect(page).to_have_url(re.compile(rf"/backoffice/orders/{number}/$"))
    staff.expect_status(page, "CONFIRMED")
    expect(staff.refund_action(page)).to_contain_text("Up to 1055.00 can still be refunded.")
    expect(staff.refund_action(page).get_by_label("Amount")).to_have_value("1055.00")

    staff.refund(page, Decimal("100.00"), reason="Mouse returned")
    expect(staff.messages(page)).to_contain_text(f"Refund of 100.00 issued for order {number}.")
    staff.expect_status(page, "CONFIRMED")
    expect(page.get_by_test_id("refunded-amount")).to_have_text("100.00")
    expect(staff.refund_rows(page)).to_have_count(1)
    expect(staff.refund_action(page)).to_contain_text("Up to 955.00 can still be refunded.")
    # The rest: the amount the form offers is what remains.
    expect(staff.refund_action(page).get_by_label("Amount")).to_have_value("955.00")

    staff.refund(page, reason="Laptop returned")
    expect(staff.messages(page)).to_contain_text(f"Refund of 955.00 issued for order {number}.")
    staff.expect_status(page, "REFUNDED")
    expect(page.get_by_test_id("refunded-amount")).to_have_text("1055.00")
    expect(staff.refund_action(page)).to_have_count(0)
    refunds = staff.refund_rows(page)
    expect(refunds).to_have_count(2)
    expect(refunds.nth(0)).to_contain_text("SUCCEEDED")
    expect(refunds.nth(0)).to_contain_text("Mouse returned")
    expect(refunds.nth(0)).to_contain_text(f"{MINUS}100.00")
    expect(refunds.nth(1)).to_contain_text("SUCCEEDED")
    expect(refunds.nth(1)).to_contain_text("Laptop returned")
    expect(refunds.nth(1)).to_contain_text(f"{MINUS}955.00")
    history = staff.timeline(page)
    expect(history).to_contain_text("Refunded 100.00 USD: Mouse returned")
    expect(history).to_contain_text("Refunded 955.00 USD: Laptop returned")
    expect(history).to_contain_text("CONFIRMED → REFUNDED")

    order = Order.objects.get(pk=confirmed_order.pk)
    assert (order.status, order.refunded_amount, order.total) == (Order.Status.REFUNDED, Decimal("1055.00"), 1055)
    refunded = Refund.objects.filter(payment__order=order).order_by("created_at", "pk")
    assert [(refund.status, refund.amount) for refund in refunded] == [
        (Refund.Status.SUCCEEDED, Decimal("100.00")),
        (Refund.Status.SUCCEEDED, Decimal("955.00")),
    ]
    watch.assert_clean()


def test_support_sees_no_refund_action_on_a_confirmed_order_but_may_cancel_or_complete_it(
    page, watch, confirmed_order, final_screenshot
):
    final_screenshot(page, "backoffice-support-order")
    number = confirmed_order.number
    staff.staff_member("Support", SUPPORT)
    staff.log_in(page, SUPPORT, f"/backoffice/orders/{number}/")

    staff.expect_status(page, "CONFIRMED")
    expect(page.get_by_role("button", name="Mark completed")).to_be_visible()
    expect(page.get_by_role("button", name="Cancel order")).to_be_visible()
    expect(staff.refund_action(page)).to_have_count(0)
    expect(page.get_by_role("button", name="Refund")).to_have_count(0)
    expect(page.locator(f"form[action$='/backoffice/orders/{number}/refund/']")).to_have_count(0)
    watch.assert_clean()


def test_second_tab_refunding_an_order_completed_in_the_first_is_told_of_the_conflict_and_nothing_is_refunded(
    page, context, watch, confirmed_order, final_screenshot
):
    number = confirmed_order.number
    staff.staff_member("Finance", FINANCE)
    staff.log_in(page, FINANCE, f"/backoffice/orders/{number}/")
    first = page
    second = watch.attach(context.new_page())  # the same browser, so the same session
    final_screenshot(first, "backoffice-conflict-first-tab")
    final_screenshot(second, "backoffice-conflict-second-tab")
    staff.open_order(second, number)
    staff.expect_status(second, "CONFIRMED")
    expect(staff.refund_action(second)).to_be_visible()

    first.get_by_role("button", name="Mark completed").click()
    expect(staff.messages(first)).to_contain_text(f"Order {number} marked fulfilled.")
    staff.expect_status(first, "COMPLETED")

    # The second tab still shows the order as it was and refunds everything from there.
    staff.refund(second, reason="Customer asked")
    expect(staff.messages(second)).to_contain_text(
        f"Order {number} was changed by someone else while you were looking at it; nothing was done."
    )
    expect(staff.messages(second)).not_to_contain_text("Refund issued")
    staff.expect_status(second, "COMPLETED")
    expect(second.get_by_test_id("refunded-amount")).to_have_text("0.00")
    expect(staff.refund_rows(second)).to_have_count(0)

    order = Order.objects.get(pk=confirmed_order.pk)
    assert (order.status, order.refunded_amount) == (Order.Status.COMPLETED, Decimal("0.00"))
    assert not Refund.objects.exists()
    watch.assert_clean()
