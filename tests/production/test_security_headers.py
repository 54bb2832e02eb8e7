"""What the security settings do to real responses: the Content Security Policy django-csp sends on every page
(only the shop's own scripts and styles, no inline code, no eval), pages free of inline code, HSTS and secure
cookies over HTTPS, and HTTPS redirects that spare the health probes."""

import re

import pytest
from django.urls import reverse

from shop.docs import REDOC_STYLE_HASHES
from tests.factories import ProductFactory, UserFactory, paid_order
from tests.storefront.helpers import add_to_cart, checkout_form

UNSAFE = {"'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "'wasm-unsafe-eval'", "*"}
# Code the policy refuses when it is written in the page itself.
INLINE_CODE = {
    "inline <script>": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
    "<style> element": re.compile(r"<style\b", re.IGNORECASE),
    "style attribute": re.compile(r"<[a-z][^>]*\sstyle\s*=", re.IGNORECASE),
    "event handler attribute": re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE),
    "javascript: URL": re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE),
    "hx-on attribute (needs eval)": re.compile(r"\shx-on[:-]", re.IGNORECASE),
}


def policy(response) -> dict[str, list[str]]:
    """The Content-Security-Policy header as {directive: [sources]}."""
    header = response.headers.get("Content-Security-Policy")
    assert header, "no Content-Security-Policy header"
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


@pytest.fixture
def guest_pages(db, client):
    """A guest's pages with something in them: catalog, product, cart and checkout with a laptop, the order
    the checkout placed, login, signup, the API docs."""
    laptop = ProductFactory(sku="LAP-001", name="Laptop")
    add_to_cart(client, laptop, 1)
    placed = client.post(reverse("storefront:checkout"), checkout_form(client))
    assert placed.status_code == 302
    add_to_cart(client, laptop, 1)
    return {
        "catalog": reverse("storefront:catalog"),
        "search": reverse("storefront:catalog") + "?q=lap",
        "product": reverse("storefront:product", args=[laptop.sku]),
        "cart": reverse("storefront:cart"),
        "checkout": reverse("storefront:checkout"),
        "order": placed["Location"],
        "login": reverse("account_login"),
        "signup": reverse("account_signup"),
        "redoc": "/docs/",
        "swagger-ui": "/docs/swagger/",
    }


@pytest.fixture
def back_office_pages(db, client):
    """A superuser's back office: dashboard, order desk (and a filtered desk), an order, customers, products,
    payments, webhooks."""
    laptop = ProductFactory(sku="LAP-001", name="Laptop")
    order = paid_order({laptop: 1})
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return {
        "dashboard": reverse("backoffice:dashboard"),
        "orders": reverse("backoffice:orders"),
        "orders filtered": reverse("backoffice:orders") + "?status=CONFIRMED",
        "order": reverse("backoffice:order", args=[order.number]),
        "customers": reverse("backoffice:customers"),
        "product": reverse("backoffice:product", args=[laptop.pk]),
        "products": reverse("backoffice:products"),
        "payments": reverse("backoffice:payments"),
        "webhooks": reverse("backoffice:webhooks"),
    }


# ReDoc's page allows exactly its two start-up <style> elements, by hash (shop/docs.py).
REDOC_STYLE_SOURCES = ["'self'", *REDOC_STYLE_HASHES]


def assert_strict_policy(response, where: str) -> None:
    directives = policy(response)
    assert "Content-Security-Policy-Report-Only" not in response.headers, where
    assert directives["default-src"] == ["'self'"], where
    assert directives["script-src"] == ["'self'"], where
    assert directives["style-src"] == (REDOC_STYLE_SOURCES if where == "redoc" else ["'self'"]), where
    assert directives["object-src"] == ["'none'"], where
    assert directives["frame-ancestors"] == ["'none'"], where
    for name, sources in directives.items():
        assert not set(sources) & UNSAFE, f"{where}: {name} {sources}"


def inline_code_in(html: str) -> list[str]:
    return [
        f"{what}: {match.group(0)[:120]!r}" for what, pattern in INLINE_CODE.items() for match in pattern.finditer(html)
    ]


# --- The header ----------------------------------------------------------------------------------


def test_every_guest_page_is_served_with_an_enforced_policy_of_own_scripts_and_styles_only(client, guest_pages):
    for name, url in guest_pages.items():
        response = client.get(url)
        assert response.status_code == 200, name
        assert_strict_policy(response, name)


def test_every_back_office_page_is_served_with_an_enforced_policy_of_own_scripts_and_styles_only(
    client, back_office_pages
):
    for name, url in back_office_pages.items():
        response = client.get(url)
        assert response.status_code == 200, name
        assert_strict_policy(response, name)


def test_htmx_partials_and_json_answers_carry_the_policy_too(client, db):
    laptop = ProductFactory(sku="LAP-001", name="Laptop")

    partial = client.post(reverse("storefront:cart-add", args=[laptop.sku]), {"quantity": 1}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    assert_strict_policy(partial, "htmx add to cart")
    assert_strict_policy(client.get("/healthz"), "healthz")
    assert_strict_policy(client.get("/api/v1/products/"), "API")


# --- The pages themselves --------------------------------------------------------------------------


def test_htmx_is_configured_not_to_need_eval_or_inject_its_indicator_styles(client, db):
    html = client.get(reverse("storefront:catalog")).content.decode()

    assert '<meta name="htmx-config" content=\'{"allowEval": false, "includeIndicatorStyles": false}\'>' in html


@pytest.mark.parametrize(
    "name", ["catalog", "search", "product", "cart", "checkout", "order", "login", "signup", "redoc", "swagger-ui"]
)
def test_the_guest_page_holds_no_inline_script_style_or_event_handler(client, guest_pages, name):
    html = client.get(guest_pages[name]).content.decode()

    assert inline_code_in(html) == []


def test_the_back_office_pages_hold_no_inline_script_style_or_event_handler(client, back_office_pages):
    found = {name: inline_code_in(client.get(url).content.decode()) for name, url in back_office_pages.items()}

    assert {name: code for name, code in found.items() if code} == {}


# --- HTTPS -------------------------------------------------------------------------------------------


def test_with_ssl_redirect_plain_http_is_sent_to_https_but_the_probes_answer_directly(client, settings, db):
    settings.SECURE_SSL_REDIRECT = True

    response = client.get("/cart/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/cart/"
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_over_https_a_response_sends_hsts_for_a_year_with_subdomains(client, settings, db):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True

    response = client.get("/", secure=True)

    assert response.status_code == 200
    assert response["Strict-Transport-Security"].startswith("max-age=31536000; includeSubDomains")


def test_secure_cookie_settings_mark_the_csrf_and_session_cookies_secure_and_the_session_http_only(
    client, settings, db
):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    laptop = ProductFactory(sku="LAP-001")

    client.get(reverse("account_login"), secure=True)
    client.post(reverse("storefront:cart-add", args=[laptop.sku]), {"quantity": 1}, secure=True)

    assert client.cookies["csrftoken"]["secure"] is True
    assert client.cookies["sessionid"]["secure"] is True
    assert client.cookies["sessionid"]["httponly"] is True
