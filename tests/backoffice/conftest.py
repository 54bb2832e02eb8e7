"""Fixtures for the back office's view tests: one user per role, built on the groups migration 0006 creates."""

import pytest
from django.contrib.auth.models import Group

from tests.factories import CustomerFactory, UserFactory

ROLES = ["anonymous", "customer", "staff_without_role", "support", "finance", "catalog", "superuser"]


def _in_group(user, name: str):
    # The groups and their permissions are those of migration 0006, as in production: not rebuilt here.
    user.groups.add(Group.objects.get(name=name))
    return user


def make_user(role: str):
    """A user in `role` (None for anonymous)."""
    if role == "anonymous":
        return None
    if role == "customer":
        user = UserFactory(username="customer", email="customer@example.com")
        CustomerFactory(user=user, email=user.email, name="Casey Customer")
        return user
    if role == "staff_without_role":
        return UserFactory(username="nogroup", is_staff=True)
    if role == "superuser":
        return UserFactory(username="root", is_staff=True, is_superuser=True)
    return _in_group(UserFactory(username=role, is_staff=True), role.capitalize())


@pytest.fixture
def login(client, db):
    """Sign the test client in as a role; returns the user (None for anonymous)."""

    def sign_in(role: str):
        user = make_user(role)
        if user is not None:
            client.force_login(user)
        return user

    return sign_in


@pytest.fixture
def support_user(db):
    return make_user("support")


@pytest.fixture
def finance_user(db):
    return make_user("finance")


@pytest.fixture
def catalog_user(db):
    return make_user("catalog")


@pytest.fixture
def superuser(db):
    return make_user("superuser")


@pytest.fixture
def support_client(client, support_user):
    client.force_login(support_user)
    return client


@pytest.fixture
def finance_client(client, finance_user):
    client.force_login(finance_user)
    return client


@pytest.fixture
def catalog_client(client, catalog_user):
    client.force_login(catalog_user)
    return client


@pytest.fixture
def super_client(client, superuser):
    client.force_login(superuser)
    return client
