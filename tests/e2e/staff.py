"""What a staff member does in the back office, step by step, shared by the browser tests."""

import importlib
import re
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

from django.contrib.auth.models import Group, Permission
from playwright.sync_api import Page, expect

from tests.factories import UserFactory

PASSWORD = "staff passphrase, long enough 7"
ROLES_MIGRATION = "shop.migrations.0006_backoffice_roles_and_stock_adjustments"


def role(name: str) -> Group:
    """The group migration 0006 creates, with its permissions. A transactional test empties every table when
    it ends (the permissions come back with post_migrate, the groups do not), so a browser test that runs
    after another one makes the group again from the migration's own list."""
    codenames = importlib.import_module(ROLES_MIGRATION).ROLES[name]
    group, created = Group.objects.get_or_create(name=name)
    if created:
        group.permissions.add(*Permission.objects.filter(content_type__app_label="shop", codename__in=codenames))
    return group


def staff_member(role_name: str, email: str):
    user = UserFactory(is_staff=True, email=email, password=PASSWORD)
    user.groups.add(role(role_name))
    return user


def log_in(page: Page, email: str, next_path: str) -> None:
    """Through the real login page, by email and password, on to `next_path`."""
    page.goto(f"/accounts/login/?next={next_path}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(re.compile(rf"{re.escape(next_path)}$"))
    expect(page.get_by_role("navigation", name="Main")).to_contain_text(email)


def order_rows(page: Page):
    return page.locator("#order-table").get_by_test_id("order-row")


def expect_order_count(page: Page, count: int) -> None:
    expect(page.get_by_test_id("order-count")).to_have_text(f"{count} order{'' if count == 1 else 's'}")


def wait_for_htmx(page: Page) -> None:
    """Until no htmx request is in flight (htmx marks the element that sent one with `htmx-request`)."""
    page.wait_for_function("() => document.querySelector('.htmx-request') === null")


def query_of(page: Page) -> dict[str, list[str]]:
    """The filters the address bar carries now."""
    return parse_qs(urlsplit(page.url).query)


def open_order(page: Page, number: str) -> None:
    page.goto(f"/backoffice/orders/{number}/")
    expect(page.get_by_role("heading", name=f"Order {number}", level=1)).to_be_visible()


def expect_status(page: Page, status: str) -> None:
    expect(page.get_by_test_id("order-status")).to_have_text(status)


def messages(page: Page):
    return page.locator("#messages")


def refund_action(page: Page):
    return page.get_by_test_id("refund-action")


def refund(page: Page, amount: Decimal | None = None, reason: str = "") -> None:
    """Fill the refund form (leaving the amount it offers when `amount` is None) and send it."""
    section = refund_action(page)
    if amount is not None:
        section.get_by_label("Amount").fill(str(amount))
    if reason:
        section.get_by_label("Reason").fill(reason)
    section.get_by_role("button", name="Refund").click()


def refund_rows(page: Page):
    return page.get_by_test_id("refund-row")


def timeline(page: Page):
    return page.get_by_test_id("timeline")
