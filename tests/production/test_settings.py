"""Production settings, read from config/settings.py in a fresh interpreter with a controlled environment.

As in tests/gateways/test_settings_database.py, the module is copied into a throwaway project root, so a
developer's `.env` cannot change the answer, and the interpreter has never imported pytest (the settings make
one choice, the static storage, differently under pytest).
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SETTINGS = PROJECT_ROOT / "config" / "settings.py"
ONE_YEAR = 365 * 24 * 60 * 60
MANIFEST_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"
PLAIN_STORAGE = "django.contrib.staticfiles.storage.StaticFilesStorage"
UNSAFE_SOURCES = {"'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "'wasm-unsafe-eval'", "*", "data:", "http:"}

READ_SETTINGS = """
import json, sys
import config.settings as s
print(json.dumps({name: getattr(s, name, None) for name in sys.argv[1:]}, default=str))
"""


@pytest.fixture
def project(tmp_path):
    """A throwaway project root holding only config/settings.py."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "__init__.py").write_text("")
    shutil.copy(SETTINGS, tmp_path / "config" / "settings.py")
    return tmp_path


def read(project: Path, names: list[str], **variables: str) -> dict:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(project), "USER": "alice", "PYTHONPATH": str(project), **variables}
    completed = subprocess.run(
        [sys.executable, "-c", READ_SETTINGS, *names],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


SECURITY = [
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_REDIRECT_EXEMPT",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "X_FRAME_OPTIONS",
]


def exempt_from_ssl_redirect(patterns: list[str], path: str) -> bool:
    """As SecurityMiddleware decides: a pattern searched in the path without its leading slash."""
    return any(re.search(pattern, path.lstrip("/")) for pattern in patterns)


# --- HTTPS ---------------------------------------------------------------------------------------


def test_sessions_are_cached_in_redis_when_configured_and_kept_in_the_database_only_otherwise(project):
    """A per-process memory cache in front of sessions would let another server process serve a stale cart."""
    with_redis = read(project, ["SESSION_ENGINE"], REDIS_URL="redis://127.0.0.1:6379/0")
    without = read(project, ["SESSION_ENGINE"])

    assert with_redis["SESSION_ENGINE"] == "django.contrib.sessions.backends.cached_db"
    assert without["SESSION_ENGINE"] == "django.contrib.sessions.backends.db"


def test_https_true_makes_session_and_csrf_cookies_secure(project):
    s = read(project, SECURITY, HTTPS="True")

    assert s["SESSION_COOKIE_SECURE"] is True
    assert s["CSRF_COOKIE_SECURE"] is True


def test_https_true_sends_hsts_for_at_least_a_year_including_subdomains(project):
    s = read(project, SECURITY, HTTPS="True")

    assert s["SECURE_HSTS_SECONDS"] >= ONE_YEAR
    assert s["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True


def test_https_true_redirects_to_https_except_the_health_probes(project):
    s = read(project, SECURITY, HTTPS="True")

    assert s["SECURE_SSL_REDIRECT"] is True
    exempt = s["SECURE_REDIRECT_EXEMPT"]
    assert exempt_from_ssl_redirect(exempt, "/healthz")
    assert exempt_from_ssl_redirect(exempt, "/readyz")
    for path in ["/", "/cart/", "/checkout/", "/accounts/login/", "/api/v1/orders/", "/healthz/extra", "/x/readyz"]:
        assert not exempt_from_ssl_redirect(exempt, path), path


def test_behind_proxy_trusts_x_forwarded_proto_only_when_asked(project):
    assert read(project, SECURITY, HTTPS="True")["SECURE_PROXY_SSL_HEADER"] is None
    assert read(project, SECURITY, HTTPS="True", BEHIND_PROXY="True")["SECURE_PROXY_SSL_HEADER"] == [
        "HTTP_X_FORWARDED_PROTO",
        "https",
    ]


def test_without_https_the_shop_serves_plain_http_without_secure_cookies_hsts_or_redirects(project):
    s = read(project, SECURITY)

    assert (s["SESSION_COOKIE_SECURE"], s["CSRF_COOKIE_SECURE"], s["SECURE_SSL_REDIRECT"]) == (False, False, False)
    assert s["SECURE_HSTS_SECONDS"] == 0


def test_nosniff_and_frame_denial_are_always_on(project):
    s = read(project, SECURITY)

    assert s["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert s["X_FRAME_OPTIONS"] == "DENY"


def test_debug_is_off_unless_asked_for(project):
    assert read(project, ["DEBUG"])["DEBUG"] is False
    assert read(project, ["DEBUG"], DEBUG="True")["DEBUG"] is True


# --- Database pool -------------------------------------------------------------------------------


def test_database_pool_with_postgresql_sets_the_psycopg_pool_and_conn_max_age_zero(project):
    db = read(
        project, ["DATABASES"], DATABASE_URL="postgres://shop@db.internal/shop", DATABASE_POOL="True", CONN_MAX_AGE="60"
    )["DATABASES"]["default"]

    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert db["CONN_MAX_AGE"] == 0
    pool = db["OPTIONS"]["pool"]
    assert 0 < pool["min_size"] <= pool["max_size"]
    assert pool["timeout"] > 0


def test_database_pool_sizes_come_from_the_environment(project):
    db = read(
        project,
        ["DATABASES"],
        DATABASE_URL="postgres://localhost/shop",
        DATABASE_POOL="True",
        DATABASE_POOL_MIN_SIZE="3",
        DATABASE_POOL_MAX_SIZE="12",
        DATABASE_POOL_TIMEOUT="4.5",
    )["DATABASES"]["default"]

    assert db["OPTIONS"]["pool"] == {"min_size": 3, "max_size": 12, "timeout": 4.5}


def test_without_database_pool_postgresql_has_no_pool(project):
    db = read(project, ["DATABASES"], DATABASE_URL="postgres://localhost/shop")["DATABASES"]["default"]

    assert "pool" not in db.get("OPTIONS", {})


def test_database_pool_is_ignored_for_sqlite(project):
    db = read(project, ["DATABASES"], DATABASE_POOL="True")["DATABASES"]["default"]

    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert "pool" not in db["OPTIONS"]


# --- Static files ----------------------------------------------------------------------------------


def static_storage(project: Path, **variables: str) -> str:
    return read(project, ["STORAGES"], **variables)["STORAGES"]["staticfiles"]["BACKEND"]


def test_static_manifest_selects_whitenoise_compressed_manifest_storage(project):
    assert static_storage(project, STATIC_MANIFEST="True") == MANIFEST_STORAGE
    assert static_storage(project, STATIC_MANIFEST="True", DEBUG="True") == MANIFEST_STORAGE


def test_with_debug_off_the_static_files_are_hashed_and_compressed_by_default(project):
    assert static_storage(project, DEBUG="False") == MANIFEST_STORAGE


def test_debug_or_static_manifest_false_serves_the_static_sources_as_they_are(project):
    assert static_storage(project, DEBUG="True") == PLAIN_STORAGE
    assert static_storage(project, STATIC_MANIFEST="False") == PLAIN_STORAGE


def test_whitenoise_serves_the_static_files_right_after_the_security_middleware(project):
    middleware = read(project, ["MIDDLEWARE"])["MIDDLEWARE"]

    assert "whitenoise.middleware.WhiteNoiseMiddleware" in middleware
    security = middleware.index("django.middleware.security.SecurityMiddleware")
    assert middleware.index("whitenoise.middleware.WhiteNoiseMiddleware") == security + 1


# --- Content Security Policy ------------------------------------------------------------------------


def test_the_content_security_policy_is_enforced_by_django_csp(project):
    names = ["MIDDLEWARE", "INSTALLED_APPS", "CONTENT_SECURITY_POLICY", "CONTENT_SECURITY_POLICY_REPORT_ONLY"]
    s = read(project, names)

    assert "csp.middleware.CSPMiddleware" in s["MIDDLEWARE"]
    assert "csp" in s["INSTALLED_APPS"]
    assert s["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]
    assert s["CONTENT_SECURITY_POLICY_REPORT_ONLY"] is None  # enforcing, not only reporting


def test_the_content_security_policy_allows_no_inline_code_no_eval_and_no_other_origin_for_code(project):
    directives = read(project, ["CONTENT_SECURITY_POLICY"])["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]

    for name, sources in directives.items():
        assert "'unsafe-inline'" not in sources, name
        assert "'unsafe-eval'" not in sources, name
    assert directives["default-src"] == ["'self'"]
    for code in ["script-src", "style-src"]:
        assert not set(directives[code]) & UNSAFE_SOURCES, code
        assert directives[code] == ["'self'"], code
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["form-action"] == ["'self'"]
