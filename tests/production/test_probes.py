"""The load balancer's probes: /healthz says the process serves, /readyz that it can do its work (the database
and, when configured, Redis answer), 503 otherwise."""

import socket
import uuid
from unittest import mock

import pytest
import redis
from django.db import OperationalError

REDIS = {"host": "127.0.0.1", "port": 6379, "db": 15}


def closed_port() -> int:
    """A local port nothing listens on (just released by the OS)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def redis_cache(location: str) -> dict:
    """The cache REDIS_URL configures in config/settings.py, at `location`, under a prefix of this test's own."""
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": location,
            "KEY_PREFIX": f"test-readyz-{uuid.uuid4().hex[:8]}",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
    }


@pytest.fixture
def database_down():
    """Every new cursor fails as when PostgreSQL has gone away."""
    with mock.patch(
        "shop.health.connection.cursor", side_effect=OperationalError("connection refused"), autospec=False
    ) as cursor:
        yield cursor


@pytest.fixture
def redis_down(settings):
    location = f"redis://127.0.0.1:{closed_port()}/0"
    settings.REDIS_URL = location
    settings.CACHES = redis_cache(location)


@pytest.fixture
def redis_up(settings):
    client = redis.Redis(**REDIS, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis is not reachable at {REDIS['host']}:{REDIS['port']} ({error}): start redis-server.")
    finally:
        client.close()
    location = f"redis://{REDIS['host']}:{REDIS['port']}/{REDIS['db']}"
    settings.REDIS_URL = location
    settings.CACHES = redis_cache(location)


def test_healthz_answers_200_ok_without_touching_the_database(client):
    response = client.get("/healthz")  # no django_db mark: any query would raise

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


def test_healthz_answers_200_even_when_the_database_is_down(client, database_down):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_and_readyz_accept_head_but_refuse_post(client, db):
    assert client.head("/healthz").status_code == 200
    assert client.head("/readyz").status_code == 200
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405


@pytest.mark.django_db
def test_readyz_answers_200_when_the_database_answers_and_checks_no_redis_when_none_is_configured(client, settings):
    assert settings.REDIS_URL == ""

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": True}}
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_answers_503_when_the_database_is_unreachable(client, database_down):
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": False}}
    assert database_down.called


@pytest.mark.django_db
def test_readyz_answers_503_when_the_configured_redis_is_unreachable(client, redis_down):
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": True, "redis": False}}


@pytest.mark.django_db
def test_readyz_answers_200_when_the_database_and_the_configured_redis_answer(client, redis_up):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": True, "redis": True}}


@pytest.mark.django_db
def test_readyz_reports_each_failing_dependency_when_both_are_down(client, redis_down, database_down):
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": False, "redis": False}
