"""The OpenAPI document: valid, complete where clients rely on it, served with docs that work offline, and true.

1. drf-spectacular generates it without a warning and it validates against the OpenAPI specification; /schema/
   serves it; both docs pages load only local static files.
2. It documents the one error shape, bearer JWT auth, the order headers (X-Order-Token, Idempotency-Key,
   If-Match), every status an operation can answer with, and the seed's request bodies as examples.
3. schemathesis drives every operation in process (WSGI) as staff, with a catalog and orders in place, and
   checks each answer against the schema: no 5xx, documented status codes, content types, headers and bodies.
"""

import json
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
import schemathesis
import yaml
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from tests.factories import CustomerFactory, ProductFactory, UserFactory, paid_order, place_order

HTTP_METHODS = ("get", "put", "patch", "post", "delete")
ORDER = "/api/v1/orders/{id}/"
CUSTOMER = "/api/v1/customers/{id}/"

# The seed's request bodies, written out here so the documented examples are checked against the seed itself.
SEED_BODIES = {
    ("post", "/api/v1/orders/"): {
        "customer_email": "john@example.com",
        "customer_name": "John Doe",
        "customer_phone": "998901234567",
        "shipping_address": "123 Main St, Tashkent, Uzbekistan",
        "shipping_cost": "5.00",
        "payment_method": "CREDIT_CARD",
        "items": [
            {"product_name": "Laptop", "product_sku": "LAP-001", "quantity": 1, "unit_price": "1000.00"},
            {"product_name": "Mouse", "product_sku": "MOU-001", "quantity": 2, "unit_price": "25.00"},
        ],
    },
    ("post", ORDER + "process-payment/"): {"payment_gateway": "stripe"},
    ("post", ORDER + "cancel/"): {"reason": "Customer requested cancellation"},
    ("post", ORDER + "refund/"): {"reason": "Product defective", "amount": "525.00"},
}

# What each operation can answer, from the views and services: a client must find every one in the schema.
# 400 invalid input; 401 no or a bad JWT; 403 staff only; 404 unknown id or page; 409 conflicts (email taken,
# version, stock, price, state, customer with orders, key in use); 422 Idempotency-Key reused; 429 throttled;
# 402 payment declined; 202 provider's answer lost; 502 provider refused a refund.
ANSWERS = {
    ("post", "/api/v1/auth/register/"): {201, 400, 409, 429},
    ("post", "/api/v1/auth/login/"): {200, 400, 401, 429},
    ("post", "/api/v1/auth/logout/"): {205, 400, 429},
    ("post", "/api/v1/auth/refresh/"): {200, 400, 401},
    ("get", "/api/v1/profile/"): {200, 401},
    ("put", "/api/v1/profile/"): {200, 400, 401, 409},
    ("patch", "/api/v1/profile/"): {200, 400, 401, 409},
    ("get", "/api/v1/customers/"): {200, 401, 403, 404},
    ("post", "/api/v1/customers/"): {201, 400, 401, 403, 409, 422},
    ("get", CUSTOMER): {200, 401, 403, 404},
    ("put", CUSTOMER): {200, 400, 401, 403, 404, 409},
    ("patch", CUSTOMER): {200, 400, 401, 403, 404, 409},
    ("delete", CUSTOMER): {204, 401, 403, 404, 409},
    ("get", "/api/v1/orders/"): {200, 400, 401, 404},
    ("post", "/api/v1/orders/"): {201, 400, 401, 409, 422},
    ("get", ORDER): {200, 401, 404},
    ("post", ORDER + "process-payment/"): {200, 202, 400, 401, 402, 404, 409, 422},
    ("post", ORDER + "cancel/"): {200, 202, 400, 401, 404, 409, 422, 502},
    ("post", ORDER + "refund/"): {200, 202, 400, 401, 403, 404, 409, 422, 502},
    ("post", ORDER + "complete/"): {200, 400, 401, 403, 404, 409, 422},
}
ORDER_ACTIONS = [path for method, path in ANSWERS if path.startswith(ORDER) and path != ORDER]


@pytest.fixture(scope="module")
def openapi():
    """The document as drf-spectacular generates it for the public (what /schema/ serves)."""
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(document):
    for path, item in document["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield method, path, item[method]


def header_parameters(operation) -> dict:
    return {
        parameter["name"]: parameter for parameter in operation.get("parameters", []) if parameter["in"] == "header"
    }


# --- 1. The schema validates and is served, with docs that need no network -----------------------------------


def test_spectacular_validate_fail_on_warn_passes_without_warnings_or_errors(tmp_path, capsys):
    """`manage.py spectacular --validate --fail-on-warn`: any warning, error or invalidity raises CommandError."""
    GENERATOR_STATS.reset()  # warnings of earlier generations in this process must not count (nor hide) here
    output = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(output))

    reported = capsys.readouterr().err
    assert not GENERATOR_STATS, reported
    assert "Warning" not in reported and "Error" not in reported, reported
    document = yaml.safe_load(output.read_text())
    assert document["openapi"].startswith("3.")
    assert {"/api/v1/orders/", ORDER, "/api/v1/auth/login/"} <= set(document["paths"])


def test_generated_schema_passes_the_openapi_json_schema_validator(openapi):
    validate_schema(openapi)  # raises jsonschema.ValidationError on any departure from the OpenAPI 3 spec


def test_schema_documents_exactly_the_operations_the_api_serves(openapi):
    documented = {(method, path) for method, path, _ in operations(openapi)}
    assert documented == set(ANSWERS)


def test_schema_endpoint_serves_the_same_openapi_document_as_yaml_and_json(db):
    client = Client()

    as_yaml = client.get("/schema/")
    as_json = client.get("/schema/", {"format": "json"})

    assert as_yaml.status_code == 200
    assert as_yaml["Content-Type"].startswith("application/vnd.oai.openapi")
    assert as_json.status_code == 200
    assert "json" in as_json["Content-Type"]
    served = yaml.safe_load(as_yaml.content)
    assert served == json.loads(as_json.content)
    assert served["info"]["title"] == "Transactional Order Processor API"
    assert ORDER + "process-payment/" in served["paths"]


class _AssetCollector(HTMLParser):
    """Every URL the page makes the browser fetch: scripts, stylesheets, icons, images, frames, objects."""

    def __init__(self):
        super().__init__()
        self.assets: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value and name in ("src", "href", "data", "srcset") and tag != "a":
                self.assets.append(value)


@pytest.mark.parametrize(
    ("page", "bundle"),
    [
        ("/docs/swagger/", "/static/vendor/swagger-ui/swagger-ui-bundle.js"),
        ("/docs/", "/static/vendor/redoc/bundles/redoc.standalone.js"),
    ],
)
def test_docs_page_is_html_that_loads_only_local_static_files_no_cdn_or_web_fonts(db, page, bundle):
    response = Client().get(page)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    collector = _AssetCollector()
    collector.feed(html)
    assert bundle in collector.assets, collector.assets
    for asset in collector.assets:
        # Swagger UI's start-up script is served by the docs view itself (no inline script, for the CSP).
        if asset == f"{page}?script=":
            script = Client().get(asset)
            assert script["Content-Type"].startswith("application/javascript")
            html += script.content.decode()  # its schema URL is checked below with the page's
            continue
        assert asset.startswith("/static/"), f"{page} loads {asset}, which is not a local static file"
        assert finders.find(asset.removeprefix("/static/")), f"{page} loads {asset}, which no static finder has"
    # Nothing else in the page (inline styles, @import, scripts) may reach another host either.
    assert "<script>" not in html, "an inline script would break the Content Security Policy"
    assert not re.search(r"(https?:)?//[\w-]+(\.[\w-]+)+", html), re.findall(r"\S*//\S+", html)
    assert "fonts.googleapis" not in html and "fonts.gstatic" not in html
    assert "/schema/" in html, "the docs page does not read the local schema"


# --- 2. What the schema documents -----------------------------------------------------------------------------


def test_schema_documents_the_single_error_shape_as_a_component(openapi):
    components = openapi["components"]["schemas"]
    error = components["Error"]
    assert error["type"] == "object"
    assert error["required"] == ["error"]
    assert error["properties"]["error"] == {"$ref": "#/components/schemas/ErrorBody"}
    body = components["ErrorBody"]
    assert set(body["required"]) == {"code", "message", "details"}
    assert body["properties"]["code"]["type"] == "string"
    assert body["properties"]["message"]["type"] == "string"
    assert body["properties"]["details"]["type"] == "object"


def test_every_documented_error_response_uses_the_error_component(openapi):
    wrong = [
        f"{method.upper()} {path} {status}: {response}"
        for method, path, operation in operations(openapi)
        for status, response in operation["responses"].items()
        if int(status) >= 400
        and response.get("content", {}).get("application/json", {}).get("schema")
        != {"$ref": "#/components/schemas/Error"}
    ]
    assert not wrong, wrong


@pytest.mark.parametrize(("method", "path"), list(ANSWERS), ids=[f"{m.upper()} {p}" for m, p in ANSWERS])
def test_operation_documents_every_status_it_can_answer_with(openapi, method, path):
    documented = {int(status) for status in openapi["paths"][path][method]["responses"]}

    undocumented = ANSWERS[method, path] - documented

    assert not undocumented, f"{method.upper()} {path} can answer {sorted(undocumented)}; documented: {documented}"


def test_schema_declares_bearer_jwt_auth_and_requires_it_where_the_api_does(openapi):
    assert openapi["components"]["securitySchemes"]["jwtAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    paths = openapi["paths"]
    for method, path in [("get", "/api/v1/orders/"), ("get", "/api/v1/customers/"), ("get", "/api/v1/profile/")]:
        assert paths[path][method]["security"] == [{"jwtAuth": []}], (method, path)
    # Guest checkout takes a JWT or nothing; the auth endpoints take nothing.
    assert paths["/api/v1/orders/"]["post"]["security"] == [{"jwtAuth": []}, {}]
    for path in ("/api/v1/auth/login/", "/api/v1/auth/register/", "/api/v1/auth/logout/"):
        assert paths[path]["post"]["security"] == [{}], path


@pytest.mark.parametrize("path", [ORDER, ORDER + "process-payment/", ORDER + "cancel/"])
def test_order_operation_open_to_guests_documents_that_a_jwt_is_optional(openapi, path):
    """A guest reads, pays and cancels their order with X-Order-Token and no JWT, so a JWT must not be required."""
    method = "get" if path == ORDER else "post"
    schemes = openapi["components"]["securitySchemes"]
    order_token_schemes = {
        name
        for name, scheme in schemes.items()
        if scheme.get("type") == "apiKey" and scheme.get("in") == "header" and scheme.get("name") == "X-Order-Token"
    }

    security = openapi["paths"][path][method]["security"]

    assert {"jwtAuth": []} in security
    assert {} in security or any(set(requirement) <= order_token_schemes for requirement in security if requirement), (
        f"{method.upper()} {path} documents security {security}: a guest without a JWT looks refused"
    )


@pytest.mark.parametrize("path", ORDER_ACTIONS)
def test_order_action_documents_the_order_token_idempotency_key_and_if_match_headers(openapi, path):
    headers = header_parameters(openapi["paths"][path]["post"])

    assert {"X-Order-Token", "Idempotency-Key", "If-Match"} <= set(headers), sorted(headers)
    for header in headers.values():
        assert header["schema"]["type"] == "string"
        assert header.get("description"), f"{header['name']} has no description"
        assert not header.get("required"), f"{header['name']} is optional but documented as required"


def test_order_retrieval_documents_the_order_token_and_checkout_the_idempotency_key(openapi):
    assert "X-Order-Token" in header_parameters(openapi["paths"][ORDER]["get"])
    assert "Idempotency-Key" in header_parameters(openapi["paths"]["/api/v1/orders/"]["post"])


def test_every_post_that_honours_idempotency_keys_documents_the_header(openapi):
    """IdempotentPostMixin makes every POST of the order and customer endpoints honour `Idempotency-Key`."""
    undocumented = [
        path
        for method, path, operation in operations(openapi)
        if method == "post"
        and path.startswith(("/api/v1/orders/", "/api/v1/customers/"))
        and "Idempotency-Key" not in header_parameters(operation)
    ]
    assert not undocumented, undocumented


@pytest.mark.parametrize(("method", "path"), list(SEED_BODIES), ids=[f"{m.upper()} {p}" for m, p in SEED_BODIES])
def test_seed_request_body_is_documented_as_an_example_that_fits_the_request_schema(openapi, method, path):
    content = openapi["paths"][path][method]["requestBody"]["content"]["application/json"]
    examples = [example["value"] for example in content.get("examples", {}).values()]

    assert SEED_BODIES[method, path] in examples, examples
    validator = Draft7Validator({**content["schema"], "components": openapi["components"]})
    errors = [error.message for error in validator.iter_errors(SEED_BODIES[method, path])]
    assert not errors, errors


# --- 3. Property-based: every operation, generated inputs, every answer checked against the schema -------------

SCHEMATHESIS_SEED = 20240601
# Every operation of the schema is run; none is excluded. Checks beyond these (positive_data_acceptance,
# negative_data_rejection, ...) are left out: the schema cannot say that a guest order needs an email and a
# name, or that a SKU must exist, so schema-valid requests are rightly refused with 400/409.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

# Loaded once, at collection, through the WSGI app: exactly what a client downloading /schema/ gets.
api = schemathesis.openapi.from_wsgi(
    "/schema/",
    application,
    config=schemathesis.Config.from_dict(
        {
            "seed": SCHEMATHESIS_SEED,
            # Phases run: examples (the seed's bodies), coverage (boundary and invalid values of every
            # parameter), fuzzing (max_examples below). Not stateful: the schema declares no links to follow.
            "phases": {"stateful": {"enabled": False}},
            "generation": {"deterministic": True, "database": "none"},
        }
    ),
)
# Ids of rows that exist in the running test: filled by `shop_data`, read when a path parameter is drawn.
LIVE_IDS: dict[str, list[int]] = {"orders": [], "customers": []}


@api.hook
def before_generate_path_parameters(context, strategy):
    """Besides schemathesis's own ids (almost all unknown: 404), draw ids of existing rows so 2xx are exercised."""
    kind = "orders" if context.operation.path.startswith("/api/v1/orders/") else "customers"
    existing = st.integers(min_value=0, max_value=99).map(lambda i: {"id": LIVE_IDS[kind][i % len(LIVE_IDS[kind])]})
    return st.one_of(strategy, existing)


@pytest.fixture
def shop_data(settings):
    """A staff user's JWT, the seed's catalog, and orders in several states (pending, paid; guest, customer)."""
    # Registration and login hash passwords; the production hasher would spend most of the run doing so.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    staff_user = UserFactory(is_staff=True)
    laptop = ProductFactory(sku="LAP-001", name="Laptop", price=Decimal("1000.00"), stock=10_000)
    mouse = ProductFactory(sku="MOU-001", name="Mouse", price=Decimal("25.00"), stock=10_000)
    customer = CustomerFactory(user=UserFactory(), email="owner@example.com")
    orders = [
        place_order({laptop: 1, mouse: 2}, shipping_cost="5.00"),
        paid_order({laptop: 1, mouse: 2}, shipping_cost="5.00"),
        paid_order({laptop: 1, mouse: 2}, shipping_cost="5.00", customer=customer),
        place_order({mouse: 3}, customer=customer),
    ]
    customers = [customer, orders[0].customer, CustomerFactory(email="never-ordered@example.com")]
    LIVE_IDS["orders"] = [order.pk for order in orders]
    LIVE_IDS["customers"] = [customer.pk for customer in customers]
    return {"Authorization": f"Bearer {RefreshToken.for_user(staff_user).access_token}"}


@pytest.mark.django_db(transaction=True)  # each request commits, as in production; a failed one spoils no other
@api.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    # `shop_data` is set up once per operation and shared by its examples on purpose: the rows only need to
    # exist; what the examples change (stock, statuses, deleted customers) is part of what is explored.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
def test_every_operation_answers_without_server_errors_and_as_its_schema_documents(case, shop_data):
    # The auth throttle (30/min per client) and the failed-login counter would answer 429 to nearly every
    # generated auth request after the first few; they are tested elsewhere, so each example starts unthrottled.
    cache.clear()
    # Generated headers never replace the staff JWT; coverage cases that drop Authorization still drop it.
    case.call_and_validate(headers=shop_data, checks=CHECKS)


# --- What schemathesis found (and a probe beside it), pinned down as plain requests -----------------------------------


def test_order_list_filtered_by_a_utc_offset_postgresql_cannot_store_is_not_a_server_error(staff_api):
    """Python accepts offsets up to ±23:59, PostgreSQL only ±15:59: normalise to UTC (200) or refuse (400)."""
    response = staff_api.get("/api/v1/orders/", {"created_before": "1896-06-04T23:48:15.182804+18:09"})

    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        assert response.json()["error"]["code"] == "invalid_input"


def test_customer_search_with_a_nul_character_is_refused_as_invalid_input(staff_api):
    """Like the order search: PostgreSQL text cannot hold NUL, so the query must be refused with 400, not 500."""
    response = staff_api.get("/api/v1/customers/", {"search": "a\x00b"})

    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid_input"


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", "/api/v1/orders/0.5/cancel/"),
        ("get", "/api/v1/customers/2.220446049250313e-16/"),
        ("get", "/api/v1/nowhere/"),
    ],
    ids=["non-integer order id", "non-integer customer id", "no such endpoint"],
)
def test_unknown_api_url_answers_404_in_the_json_error_shape(staff_api, method, url):
    response = getattr(staff_api, method)(url)

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    assert response.json()["error"]["code"] == "not_found"
