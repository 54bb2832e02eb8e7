"""The Content Security Policy holds in a real browser: the shop's pages, their htmx actions, the back office and
the API docs run under the policy django-csp sends (only the shop's own scripts and styles, no inline code, no
eval) without a single violation, and htmx still does its work.

Violations are collected two ways: Chromium's console messages about the policy, and a `securitypolicyviolation`
listener that an init script adds to every document (Playwright's init scripts are not subject to the page's
policy) and that reports each violation through an exposed function, so none is lost to a navigation.
"""

import re
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import ConsoleMessage, Page, Response, expect

from shop.docs import REDOC_STYLE_HASHES
from shop.models import Order
from tests.e2e import shopper, staff
from tests.factories import UserFactory, paid_order, place_order

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SUPERUSER = "root.admin@example.com"
API_TITLE = "Transactional Order Processor API"

LISTEN_FOR_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolation({
    directive: event.effectiveDirective || event.violatedDirective,
    blocked: event.blockedURI,
    source: event.sourceFile,
    line: event.lineNumber,
    column: event.columnNumber,
    sample: event.sample,
    document: event.documentURI,
    disposition: event.disposition,
  });
}, true);
"""


@dataclass
class CspWatch:
    """Every policy violation a page and the documents it navigates to report, and the policy each document and
    htmx answer came with."""

    violations: list[str] = field(default_factory=list)
    unprotected: list[str] = field(default_factory=list)
    policies: set[str] = field(default_factory=set)

    def attach(self, page: Page) -> "CspWatch":
        page.expose_function("__cspViolation", self._on_violation)
        page.add_init_script(LISTEN_FOR_VIOLATIONS)
        page.on("console", self._on_console)
        page.on("response", self._on_response)
        return self

    def settle(self, page: Page) -> None:
        """Let the last requests finish and their reports arrive."""
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(300)

    def assert_none(self, page: Page) -> None:
        self.settle(page)
        assert self.violations == [], "Content Security Policy violations:\n" + "\n".join(self.violations)
        assert self.unprotected == [], "answers without a Content-Security-Policy:\n" + "\n".join(self.unprotected)

    def _on_violation(self, report: dict) -> None:
        where = f"{report['source'] or report['document']}:{report['line']}:{report['column']}"
        self.violations.append(
            f"[listener] {report['directive']} blocked {report['blocked']!r} at {where} sample={report['sample']!r}"
        )

    def _on_console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.violations.append(f"[console] {message.text} at {message.location.get('url', '')}")

    def _on_response(self, response: Response) -> None:
        kind = response.request.resource_type
        if kind not in ("document", "xhr", "fetch") or not 200 <= response.status < 300:
            return
        if response.request.headers.get("hx-request") != "true" and kind != "document":
            return
        policy = response.headers.get("content-security-policy")
        if policy:
            self.policies.add(policy)
        else:
            self.unprotected.append(f"{kind} {response.request.method} {response.url}")


@pytest.fixture
def csp(page) -> CspWatch:
    return CspWatch().attach(page)


def assert_strict_policy_was_served(csp: CspWatch, style_src=("'self'",)) -> None:
    assert csp.policies, "no page came with a Content-Security-Policy"
    for policy in csp.policies:
        directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
        assert directives["script-src"] == ["'self'"], policy
        assert directives["style-src"] == list(style_src), policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, policy


def test_the_violation_listener_sees_an_inline_script_the_policy_blocks(page, csp, catalog):
    """The method is not blind: inline code written into a page is refused, reported, and never runs."""
    shopper.open_catalog(page)

    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.__inlineRan = true";
          document.body.append(script);
        }"""
    )
    csp.settle(page)

    assert page.evaluate("() => window.__inlineRan === true") is False
    assert any("[listener] script-src" in violation for violation in csp.violations), csp.violations
    assert any("[console]" in violation for violation in csp.violations), csp.violations


def test_a_guest_searches_adds_to_cart_updates_quantity_checks_out_and_logs_in_with_no_csp_violation(
    page, csp, watch, catalog, final_screenshot
):
    final_screenshot(page, "csp-storefront")
    shopper.open_catalog(page)

    # htmx search: the grid is swapped in place and the address bar follows.
    shopper.mark_document(page)
    page.get_by_label("Search products").fill("Lap")
    expect(page.get_by_test_id("product-MOU-001")).to_have_count(0)
    expect(page.get_by_test_id("product-LAP-001")).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]q=Lap\b"))
    shopper.assert_same_document(page)

    shopper.add_to_cart_from_grid(page, "Laptop", expected_count=1)  # htmx: the badge changes in place
    shopper.open_cart(page)
    shopper.change_quantity(page, "LAP-001", "Laptop", 2)  # htmx: the cart body and the badge change in place

    shopper.go_to_checkout(page)
    shopper.fill_guest_details(page)
    shopper.fill_shipping_and_payment(page, card="4242424242424242")
    shopper.place_order_button(page).click()
    expect(page).to_have_url(re.compile(r"/orders/[0-9a-f]{64}/$"))
    shopper.expect_status(page, "Confirmed")
    assert Order.objects.get().status == Order.Status.CONFIRMED

    page.goto("/accounts/login/")
    expect(page.get_by_role("button", name="Sign In")).to_be_visible()
    shopper.assert_assets_loaded(page)

    csp.assert_none(page)
    assert_strict_policy_was_served(csp)
    watch.assert_clean()


def test_a_superuser_filters_the_order_desk_and_opens_an_order_with_no_csp_violation(
    page, csp, watch, catalog, final_screenshot
):
    final_screenshot(page, "csp-backoffice")
    confirmed = paid_order({catalog["laptop"]: 1}, email="ada@example.com")
    place_order({catalog["mouse"]: 1}, email="grace@example.com")
    UserFactory(is_staff=True, is_superuser=True, email=SUPERUSER, password=staff.PASSWORD)

    staff.log_in(page, SUPERUSER, "/backoffice/orders/")  # the login page, then the desk
    staff.expect_order_count(page, 2)
    shopper.assert_assets_loaded(page)

    # htmx filter: only the table is swapped, the page stays.
    shopper.mark_document(page)
    page.get_by_label("Status").select_option("CONFIRMED")
    staff.expect_order_count(page, 1)
    expect(page).to_have_url(re.compile(r"[?&]status=CONFIRMED\b"))
    staff.wait_for_htmx(page)
    shopper.assert_same_document(page)
    expect(staff.order_rows(page)).to_have_count(1)

    staff.order_rows(page).first.get_by_role("link", name=confirmed.number).click()
    expect(page).to_have_url(re.compile(rf"/backoffice/orders/{confirmed.number}/$"))
    staff.expect_status(page, "CONFIRMED")
    expect(staff.refund_action(page)).to_be_visible()

    csp.assert_none(page)
    assert_strict_policy_was_served(csp)
    watch.assert_clean()


def test_the_redoc_api_docs_render_with_no_csp_violation(page, csp, watch, final_screenshot, transactional_db):
    final_screenshot(page, "csp-redoc")

    # ReDoc asks for its logo at cdn.redoc.ly; the policy refuses it (nothing loads from the internet), which is
    # the one refused request and report allowed here.
    watch.ignored.append(re.compile(r"https://cdn\.redoc\.ly/redoc/logo-mini\.svg"))
    page.goto("/docs/")
    expect(page.locator("#redoc-container h1").first).to_be_visible()  # the docs, or ReDoc's error page

    csp.settle(page)
    logo = [v for v in csp.violations if "https://cdn.redoc.ly/redoc/logo-mini.svg" in v]
    csp.violations = [v for v in csp.violations if v not in logo]
    assert csp.violations == [], "Content Security Policy violations:\n" + "\n".join(csp.violations)
    assert csp.unprotected == [], csp.unprotected
    expect(page.get_by_role("heading", name=re.compile(API_TITLE), level=1)).to_be_visible()
    expect(page.get_by_text("Authenticate with a JWT").first).to_be_visible()
    assert_strict_policy_was_served(csp, style_src=("'self'", *REDOC_STYLE_HASHES))
    watch.assert_clean()


def test_the_swagger_ui_api_docs_render_with_no_csp_violation(page, csp, watch, final_screenshot, transactional_db):
    final_screenshot(page, "csp-swagger-ui")

    page.goto("/docs/swagger/")
    expect(page.locator("#swagger-ui h2, #swagger-ui h4").first).to_be_visible()  # the docs, or an error

    csp.assert_none(page)
    expect(page.locator(".swagger-ui .info .title")).to_contain_text(API_TITLE)
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    assert_strict_policy_was_served(csp)
    watch.assert_clean()
