"""Settings for the shop: one module, driven by the environment and an optional `.env` file.

Database selection, first match wins:
1. `DATABASE_URL` (any URL django-environ understands, e.g. postgres://user:pw@host:5432/db);
2. `DEV=True`: PostgreSQL from `DB_NAME`, `DB_USER`, `DB_PASSWORD`, `DB_HOST`, `DB_PORT` (the seed's variables);
3. otherwise an embedded SQLite file tuned for concurrent web use, so `make run` needs no configuration.
"""

import getpass
import sys
from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# The default key is only fit for development: `manage.py check --deploy` flags its "django-insecure-" prefix.
SECRET_KEY = env("SECRET_KEY", default="django-insecure-dev-only-key-change-me-in-production-0123456789")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "django_htmx",
    "template_partials",
    "crispy_forms",
    "crispy_bootstrap5",
    "allauth",
    "allauth.account",
    "django_tasks",
    "django_tasks_db",
    "csp",
    "shop",
]

MIDDLEWARE = [
    "shop.observability.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "shop.api.middleware.JsonErrorsMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shop.storefront.context.shop",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"


# WAL lets readers run beside the single writer; IMMEDIATE takes the write lock at BEGIN so two
# transactions never both read and then fail to upgrade ("database is locked") halfway through.
SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
}


def _sqlite_database() -> dict:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": env("SQLITE_PATH", default=str(BASE_DIR / "db.sqlite3")),
        "OPTIONS": dict(SQLITE_OPTIONS),
    }


def _postgres_from_seed_variables() -> dict:
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": env("DB_NAME", default=""),
        "USER": env("DB_USER", default=""),
        "PASSWORD": env("DB_PASSWORD", default=""),
        "HOST": env("DB_HOST", default="localhost"),
        "PORT": env("DB_PORT", default="5432"),
    }


def _database() -> dict:
    if env("DATABASE_URL", default=""):
        database = env.db_url("DATABASE_URL")
    elif env.bool("DEV", default=False):
        database = _postgres_from_seed_variables()
    else:
        return _sqlite_database()
    if database["ENGINE"] == "django.db.backends.postgresql" and not database.get("NAME"):
        # Like libpq: with no database named, use the one named after the user (postgres://localhost/).
        database["NAME"] = database.get("USER") or getpass.getuser()
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database["OPTIONS"] = {**SQLITE_OPTIONS, **database.get("OPTIONS", {})}
    database.setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
    if database["ENGINE"] == "django.db.backends.postgresql" and env.bool("DATABASE_POOL", default=False):
        # psycopg's pool inside each server process; Django requires CONN_MAX_AGE = 0 with it.
        # Keep workers x DATABASE_POOL_MAX_SIZE below PostgreSQL's max_connections.
        database["CONN_MAX_AGE"] = 0
        database.setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=8),
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
        }
    return database


DATABASES = {"default": _database()}

# With REDIS_URL, the cache (and so throttling counts, rate limits and sessions) lives in Redis, shared by every
# process; sessions are written through to the database too, so a Redis restart logs nobody out.
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="shop"),
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # A per-process memory cache in front of sessions would let another server process serve a stale cart.
    SESSION_ENGINE = "django.contrib.sessions.backends.db"

# Background work: Django's Tasks API (the django-tasks backport on 5.2) with the database backend. The task row
# is written inside the service's transaction: a transactional outbox with no broker. `manage.py db_worker` runs it.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "storefront:catalog"

# Accounts (django-allauth): the email address is the login; guests who verify their address get their orders.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", default="optional")
ACCOUNT_LOGOUT_REDIRECT_URL = "storefront:catalog"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Shop] "

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="shop@localhost")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)


CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
# Production serves compressed files with hashed names through WhiteNoise (`collectstatic` first); development
# and the tests serve the sources as they are.
STATIC_MANIFEST = env.bool("STATIC_MANIFEST", default=not DEBUG and "pytest" not in sys.modules)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Without collected files (development, tests), WhiteNoise serves the sources straight from the finders.
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
if not STATIC_MANIFEST and not Path(STATIC_ROOT).is_dir():
    STATIC_ROOT = None

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# One line per record with the request id on every line: JSON (LOG_FORMAT=json, for production log pipelines)
# or plain text.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "shop.observability.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env("LOG_FORMAT", default="plain"),
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

# --- Security --------------------------------------------------------------------------------------

# Production runs behind HTTPS: set HTTPS=True for secure cookies, HSTS and redirects to HTTPS (`check --deploy`
# expects it). Unset, the shop serves plain HTTP, as `make run`, `make serve` and the benchmark do on localhost.
HTTPS = env.bool("HTTPS", default=False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_PROXY", default=False) else None
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content Security Policy (django-csp): only this site's own scripts and styles, no inline code, no eval.
# htmx is configured (meta htmx-config in base.html) not to need either.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/admin/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- The shop ---------------------------------------------------------------------------------

SHOP_CURRENCY = env("SHOP_CURRENCY", default="USD")

# Payment providers by name. A request may name any of these; "stripe" is the seed's example name and
# is served by the fake gateway in this configuration (a sandbox), so no real money ever moves.
# The fake gateway's chaos knobs (0 by default) let stress tests make it slow, fail or lose answers.
FAKE_GATEWAY_OPTIONS = {
    "latency_ms": env.int("FAKE_GATEWAY_LATENCY_MS", default=0),
    "error_rate": env.float("FAKE_GATEWAY_ERROR_RATE", default=0.0),
    "timeout_rate": env.float("FAKE_GATEWAY_TIMEOUT_RATE", default=0.0),
}
PAYMENT_GATEWAYS = {
    "fake": {"BACKEND": "shop.gateways.fake.FakeGateway", "OPTIONS": FAKE_GATEWAY_OPTIONS},
    "stripe": {"BACKEND": "shop.gateways.fake.FakeGateway", "OPTIONS": FAKE_GATEWAY_OPTIONS},
}
PAYMENT_DEFAULT_GATEWAY = env("PAYMENT_DEFAULT_GATEWAY", default="fake")

# Payments still PROCESSING after this many seconds are settled by `reconcile_payments`.
PAYMENT_RECONCILE_AFTER_SECONDS = env.int("PAYMENT_RECONCILE_AFTER_SECONDS", default=120)
# Unpaid (PENDING or FAILED) orders older than this are cancelled by `release_expired_orders`.
UNPAID_ORDER_TTL_MINUTES = env.int("UNPAID_ORDER_TTL_MINUTES", default=60)
# `manage.py run_scheduler` runs reconciliation, expiry and key purging this often.
SCHEDULER_INTERVAL_SECONDS = env.float("SCHEDULER_INTERVAL_SECONDS", default=60.0)

SHOP_BASE_URL = env("SHOP_BASE_URL", default="http://localhost:8000")

# Webhooks: each delivery waits at most WEBHOOK_TIMEOUT_SECONDS for an answer; a failure is retried after about
# base, 2 x base, 4 x base ... seconds (with jitter) until WEBHOOK_MAX_ATTEMPTS, then marked failed.
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=30.0)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=6)

# Idempotency keys of the JSON API are kept at least this long (`purge_idempotency_keys` removes older ones).
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24)

# --- The JSON API -----------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework_simplejwt.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "shop.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "shop.api.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"auth": env("API_AUTH_THROTTLE_RATE", default="30/min")},
    "COERCE_DECIMAL_TO_STRING": True,
}

# After this many failed logins for one email from one address, further tries are refused for the window.
FAILED_LOGIN_LIMIT = env.int("FAILED_LOGIN_LIMIT", default=5)
FAILED_LOGIN_WINDOW_SECONDS = env.int("FAILED_LOGIN_WINDOW_SECONDS", default=900)

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Transactional Order Processor API",
    "DESCRIPTION": (
        "Orders, payments and refunds that stay correct under concurrency. Authenticate with a JWT "
        "(`Authorization: Bearer <access>` from `auth/login/`), or, for a guest's own order, with the order's "
        "access token in `X-Order-Token`. Every POST accepts an `Idempotency-Key`. Errors have one shape: "
        '`{"error": {"code", "message", "details"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "/static/vendor/swagger-ui",
    "SWAGGER_UI_FAVICON_HREF": "/static/vendor/swagger-ui/favicon-32x32.png",
    "REDOC_DIST": "/static/vendor/redoc",
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "orderToken": {
                "type": "apiKey",
                "in": "header",
                "name": "X-Order-Token",
                "description": "A guest's access to one order: the `access_token` returned when it was created.",
            }
        }
    },
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "shop.models.orders.OrderStatus",
        "PaymentStatusEnum": "shop.models.payments.PaymentStatus",
        "PaymentMethodEnum": "shop.models.payments.PaymentMethod",
    },
}
