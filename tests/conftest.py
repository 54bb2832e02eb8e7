from decimal import Decimal

import psycopg
import pytest
from django.conf import settings

from shop.services import Actor
from tests.factories import ProductFactory, UserFactory, paid_order, place_order


def pytest_sessionstart(session):
    """The suite proves locking, which only PostgreSQL does: refuse anything else, in one clear line."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        pytest.exit(
            f"The tests need PostgreSQL, not {database['ENGINE']}: set DATABASE_URL=postgres://USER:PASSWORD@HOST:PORT/DB",
            returncode=3,
        )
    try:
        psycopg.connect(
            dbname=database["NAME"],
            user=database["USER"] or None,
            password=database["PASSWORD"] or None,
            host=database["HOST"] or None,
            port=database["PORT"] or None,
            connect_timeout=5,
        ).close()
    except psycopg.OperationalError as error:
        reason = str(error).strip().splitlines()[0]
        pytest.exit(
            f"PostgreSQL is not reachable ({reason}): start it or set DATABASE_URL=postgres://USER:PASSWORD@HOST:PORT/DB",
            returncode=3,
        )


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Full-strength PBKDF2 costs a noticeable time per user; no test depends on the hasher's strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def system():
    return Actor.system("tests")


@pytest.fixture
def staff_user(db):
    return UserFactory(is_staff=True)


@pytest.fixture
def staff(staff_user):
    return Actor.staff(staff_user)


@pytest.fixture
def laptop(db):
    return ProductFactory(sku="LAP-001", name="Laptop", price=Decimal("1000.00"), stock=10)


@pytest.fixture
def mouse(db):
    return ProductFactory(sku="MOU-001", name="Mouse", price=Decimal("25.00"), stock=100)


@pytest.fixture
def order(laptop, mouse):
    """A PENDING guest order: 1 laptop + 2 mice + 5.00 shipping = 1055.00."""
    return place_order({laptop: 1, mouse: 2}, shipping_cost="5.00")


@pytest.fixture
def confirmed_order(laptop, mouse):
    """The same order, paid: CONFIRMED with a COMPLETED payment of 1055.00."""
    return paid_order({laptop: 1, mouse: 2}, shipping_cost="5.00")
