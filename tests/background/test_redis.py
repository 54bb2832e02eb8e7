"""With Redis configured (as on CI, where it runs on localhost), the cache, the sessions and the failed-login
counter live in Redis: read back here with a raw Redis client, not through Django."""

import hashlib
import uuid

import pytest
import redis
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

REDIS = {"host": "127.0.0.1", "port": 6379, "db": 15}


@pytest.fixture
def raw_redis():
    client = redis.Redis(**REDIS, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(
            f"Redis is not reachable at {REDIS['host']}:{REDIS['port']} ({error}). These tests need it, as CI "
            "has it: start redis-server.",
            pytrace=False,
        )
    yield client
    client.close()


@pytest.fixture
def redis_cache(settings, raw_redis):
    """The project's Redis cache configuration (as REDIS_URL sets it), under a prefix of this test's own; every key
    under it is deleted afterwards."""
    prefix = f"shop-test-{uuid.uuid4().hex[:12]}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://{REDIS['host']}:{REDIS['port']}/{REDIS['db']}",
            "KEY_PREFIX": prefix,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"  # what REDIS_URL selects
    yield prefix
    keys = list(raw_redis.scan_iter(match=f"{prefix}:*"))
    if keys:
        raw_redis.delete(*keys)


def _keys(raw_redis, prefix: str) -> set[str]:
    return {key.decode() for key in raw_redis.scan_iter(match=f"{prefix}:*")}


def test_a_cached_value_lands_in_redis_under_the_key_prefix(raw_redis, redis_cache):
    cache.set("probe", "hello", timeout=60)

    assert _keys(raw_redis, redis_cache) == {f"{redis_cache}:1:probe"}
    assert 0 < raw_redis.ttl(f"{redis_cache}:1:probe") <= 60
    assert cache.get("probe") == "hello"


def test_sessions_of_a_cart_and_a_login_land_in_redis_and_in_the_database(
    settings, client, laptop, raw_redis, redis_cache
):
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.cached_db"

    response = client.post(reverse("storefront:cart-add", args=[laptop.sku]), {"quantity": 1})

    assert response.status_code == 302
    cart_session = client.cookies[settings.SESSION_COOKIE_NAME].value
    session_key = f"{redis_cache}:1:django.contrib.sessions.cached_db{cart_session}"
    assert session_key in _keys(raw_redis, redis_cache)
    assert Session.objects.filter(session_key=cart_session).exists()  # written through: a Redis restart loses none

    client.force_login(UserFactory())

    login_session = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert login_session != cart_session  # a new key on login
    assert f"{redis_cache}:1:django.contrib.sessions.cached_db{login_session}" in _keys(raw_redis, redis_cache)
    assert client.get(reverse("storefront:cart")).status_code == 200


def test_the_failed_login_counter_lands_in_redis(client, raw_redis, redis_cache):
    user = UserFactory(email="locked@example.com")
    digest = hashlib.sha256(f"{user.email}|127.0.0.1".encode()).hexdigest()
    counter = f"{redis_cache}:1:failed-login:{digest}"

    for expected in (b"1", b"2"):
        response = client.post(
            "/api/v1/auth/login/", {"email": user.email, "password": "wrong"}, content_type="application/json"
        )
        assert response.status_code == 401
        assert raw_redis.get(counter) == expected

    assert 0 < raw_redis.ttl(counter) <= 900
