"""Customer API: the caller's own profile, and the staff-only customers collection (list with search, create a guest,
retrieve, replace, change, delete one who never ordered)."""

import pytest
from django.contrib.auth import get_user_model

from shop.models import Customer, Order
from tests.api.conftest import client_for
from tests.api.errors import INVALID_CUSTOMER_FIELDS, assert_error, assert_invalid
from tests.factories import CustomerFactory, UserFactory, place_order

PROFILE = "/api/v1/profile/"
CUSTOMERS = "/api/v1/customers/"
LOGIN = "/api/v1/auth/login/"

PASSWORD = "correct horse battery staple"  # what UserFactory gives every user

User = get_user_model()


def detail(customer_or_pk) -> str:
    return f"{CUSTOMERS}{getattr(customer_or_pk, 'pk', customer_or_pk)}/"


@pytest.fixture
def member(db):
    """A registered customer whose account and profile share one email (as registration makes them)."""
    return CustomerFactory(
        user=UserFactory(email="mia@example.com"), email="mia@example.com", name="Mia Member", phone="998900000001"
    )


@pytest.fixture
def member_api(member):
    return client_for(member.user)


@pytest.fixture
def other_member(db):
    return CustomerFactory(user=UserFactory(email="Zed@example.com"), email="Zed@example.com", name="Zed Other")


@pytest.fixture
def guest(db):
    return CustomerFactory(email="gus@example.com", name="Gus Guest", phone="998907654321")


def snapshot(customer: Customer) -> tuple:
    customer.refresh_from_db()
    user_email = customer.user.email if customer.user_id else None
    return customer.email, customer.name, customer.phone, user_email


# --- profile: who may see it ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "put", "patch"])
def test_profile_refuses_an_anonymous_caller_with_401(anonymous, member, method):
    before = snapshot(member)

    response = getattr(anonymous, method)(PROFILE, {"name": "Mallory"}, format="json")

    assert_error(response, 401, "not_authenticated")
    assert response.has_header("WWW-Authenticate")
    assert snapshot(member) == before


@pytest.mark.parametrize("token", ["not.a.token", "", "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"])
def test_profile_refuses_an_invalid_bearer_token_with_401(anonymous, member, token):
    anonymous.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    assert_error(anonymous.get(PROFILE), 401, "not_authenticated")


def test_profile_refuses_a_refresh_token_used_as_a_bearer_token(anonymous, member):
    refresh = anonymous.post(LOGIN, {"email": "mia@example.com", "password": PASSWORD}, format="json").json()
    anonymous.credentials(HTTP_AUTHORIZATION=f"Bearer {refresh.get('refresh', 'missing')}")

    assert_error(anonymous.get(PROFILE), 401, "not_authenticated")


def test_profile_refuses_the_token_of_a_deactivated_user(member, member_api):
    member.user.is_active = False
    member.user.save(update_fields=["is_active"])

    assert_error(member_api.get(PROFILE), 401, "not_authenticated")


# --- profile: reading -----------------------------------------------------------------------------------------------


def test_profile_get_returns_the_callers_own_profile(member, member_api, other_member):
    response = member_api.get(PROFILE)

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"id", "email", "name", "phone", "created_at", "updated_at"}
    assert (body["id"], body["email"], body["name"], body["phone"]) == (
        member.pk,
        "mia@example.com",
        "Mia Member",
        "998900000001",
    )


def test_profile_get_for_an_account_without_a_profile_makes_one_from_the_account(db):
    user = UserFactory(email="nora@example.com", first_name="Nora", last_name="New")

    response = client_for(user).get(PROFILE)

    assert response.status_code == 200, response.content
    customer = Customer.objects.get(user=user)
    assert (customer.email, customer.name) == ("nora@example.com", "Nora New")
    assert (response.json()["id"], response.json()["email"], response.json()["name"]) == (
        customer.pk,
        "nora@example.com",
        "Nora New",
    )
    # Asking again does not make a second one.
    assert client_for(user).get(PROFILE).json()["id"] == customer.pk
    assert Customer.objects.filter(user=user).count() == 1


# --- profile: changing ----------------------------------------------------------------------------------------------


def test_profile_patch_changes_name_and_phone_and_nothing_else(member, member_api, other_member):
    other_before = snapshot(other_member)

    response = member_api.patch(PROFILE, {"name": " Mia Renamed ", "phone": "998911111111"}, format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["name"], response.json()["phone"], response.json()["email"]) == (
        "Mia Renamed",
        "998911111111",
        "mia@example.com",
    )
    assert snapshot(member) == ("mia@example.com", "Mia Renamed", "998911111111", "mia@example.com")
    assert snapshot(other_member) == other_before


def test_profile_patch_ignores_read_only_fields(member, member_api, other_member):
    response = member_api.patch(PROFILE, {"id": other_member.pk, "name": "Mia Renamed"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["id"] == member.pk
    assert snapshot(member)[1] == "Mia Renamed"
    assert snapshot(other_member)[1] == "Zed Other"


def test_profile_patch_email_changes_the_account_email_so_the_new_one_logs_in(anonymous, member, member_api):
    response = member_api.patch(PROFILE, {"email": "mia.new@example.com"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["email"] == "mia.new@example.com"
    assert snapshot(member) == ("mia.new@example.com", "Mia Member", "998900000001", "mia.new@example.com")
    new_login = anonymous.post(LOGIN, {"email": "mia.new@example.com", "password": PASSWORD}, format="json")
    assert new_login.status_code == 200, new_login.content
    old_login = anonymous.post(LOGIN, {"email": "mia@example.com", "password": PASSWORD}, format="json")
    assert old_login.status_code not in (200, 429), old_login.content


def test_profile_patch_of_the_email_case_alone_changes_the_account_email_too(member, member_api):
    response = member_api.patch(PROFILE, {"email": "Mia@example.com"}, format="json")

    assert response.status_code == 200, response.content
    assert snapshot(member) == ("Mia@example.com", "Mia Member", "998900000001", "Mia@example.com")


@pytest.mark.parametrize("email", ["Zed@example.com", "zed@example.com", "ZED@EXAMPLE.COM"])
def test_profile_patch_to_an_email_another_account_uses_in_any_case_is_409_and_changes_nothing(
    member, member_api, other_member, email
):
    before, other_before = snapshot(member), snapshot(other_member)

    response = member_api.patch(PROFILE, {"email": email, "name": "Mia Renamed"}, format="json")

    error = assert_error(response, 409, "email_taken")
    assert error["details"] == {"field": "email"}
    assert snapshot(member) == before
    assert snapshot(other_member) == other_before


@pytest.mark.parametrize(("body", "field"), INVALID_CUSTOMER_FIELDS)
def test_profile_patch_with_an_invalid_field_is_400_and_changes_nothing(member, member_api, body, field):
    before = snapshot(member)

    response = member_api.patch(PROFILE, body, format="json")

    assert_invalid(response, field)
    assert snapshot(member) == before


def test_profile_put_replaces_email_name_and_phone(member, member_api):
    response = member_api.put(
        PROFILE, {"email": "mia.put@example.com", "name": "Mia Put", "phone": "998922222222"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert (response.json()["email"], response.json()["name"], response.json()["phone"]) == (
        "mia.put@example.com",
        "Mia Put",
        "998922222222",
    )
    assert snapshot(member) == ("mia.put@example.com", "Mia Put", "998922222222", "mia.put@example.com")


def test_profile_put_without_the_required_fields_is_400_naming_them_and_changes_nothing(member, member_api):
    before = snapshot(member)

    response = member_api.put(PROFILE, {"phone": "998933333333"}, format="json")

    assert_invalid(response, "email", "name")
    assert snapshot(member) == before


def test_profile_put_to_an_email_another_account_uses_is_409(member, member_api, other_member):
    before = snapshot(member)

    response = member_api.put(PROFILE, {"email": "zed@EXAMPLE.com", "name": "Mia Member"}, format="json")

    assert_error(response, 409, "email_taken")
    assert snapshot(member) == before


# --- customers: who may use them ------------------------------------------------------------------------------------

CUSTOMER_REQUESTS = [
    ("get", "list"),
    ("post", "list"),
    ("get", "detail"),
    ("put", "detail"),
    ("patch", "detail"),
    ("delete", "detail"),
]


def _call(client, method: str, target: str, customer: Customer):
    url = CUSTOMERS if target == "list" else detail(customer)
    return getattr(client, method)(url, {"email": "mallory@example.com", "name": "Mallory"}, format="json")


@pytest.mark.parametrize(("method", "target"), CUSTOMER_REQUESTS)
def test_customers_refuse_an_anonymous_caller_with_401_and_change_nothing(anonymous, guest, method, target):
    before = snapshot(guest)

    response = _call(anonymous, method, target, guest)

    assert_error(response, 401, "not_authenticated")
    assert snapshot(guest) == before
    assert Customer.objects.count() == 1


@pytest.mark.parametrize(("method", "target"), CUSTOMER_REQUESTS)
def test_customers_refuse_a_signed_in_customer_who_is_not_staff_with_403_and_change_nothing(
    member, member_api, guest, method, target
):
    before = snapshot(guest)

    response = _call(member_api, method, target, guest)

    assert_error(response, 403, "permission_denied")
    assert snapshot(guest) == before
    assert Customer.objects.count() == 2


def test_a_customer_cannot_open_their_own_record_in_the_staff_collection(member, member_api):
    assert_error(member_api.get(detail(member)), 403, "permission_denied")


# --- customers: list and search -------------------------------------------------------------------------------------


def test_staff_list_is_paginated_newest_first_with_each_customers_order_count(staff_api, member, guest, laptop, mouse):
    place_order({laptop: 1}, customer=member)
    place_order({mouse: 2}, customer=member)
    place_order({mouse: 1}, email="gus@example.com")  # the guest's order, found by email

    response = staff_api.get(CUSTOMERS)

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (2, None, None)
    rows = {row["id"]: row for row in body["results"]}
    assert [row["id"] for row in body["results"]] == [guest.pk, member.pk]
    fields = {"id", "email", "name", "phone", "is_guest", "order_count", "created_at", "updated_at"}
    assert set(rows[member.pk]) == fields
    assert (rows[member.pk]["order_count"], rows[member.pk]["is_guest"]) == (2, False)
    assert (rows[guest.pk]["order_count"], rows[guest.pk]["is_guest"]) == (1, True)


def test_staff_list_pages_by_page_size(staff_api, db):
    CustomerFactory.create_batch(3)

    response = staff_api.get(CUSTOMERS, {"page_size": 2})

    assert response.status_code == 200, response.content
    assert (response.json()["count"], len(response.json()["results"])) == (3, 2)
    assert response.json()["next"]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("gus@", {"guest"}),
        ("GUS@EXAMPLE", {"guest"}),
        ("mia", {"member"}),
        ("member", {"member"}),
        ("mIA meM", {"member"}),
        ("example.com", {"guest", "member"}),
        ("7654321", {"guest"}),
        ("nobody", set()),
        ("   ", {"guest", "member", "other"}),
    ],
    ids=[
        "email-part",
        "email-other-case",
        "name-or-email-part",
        "name-part",
        "name-other-case",
        "common-domain",
        "phone-part",
        "no-match",
        "blank-is-everyone",
    ],
)
def test_staff_list_search_matches_part_of_email_name_or_phone_in_any_case(staff_api, member, guest, search, expected):
    other = CustomerFactory(email="oscar@elsewhere.org", name="Oscar Other", phone="")
    names = {member.pk: "member", guest.pk: "guest", other.pk: "other"}

    response = staff_api.get(CUSTOMERS, {"search": search})

    assert response.status_code == 200, response.content
    assert {names[row["id"]] for row in response.json()["results"]} == expected
    assert response.json()["count"] == len(expected)


# --- customers: create ----------------------------------------------------------------------------------------------


def test_staff_create_adds_a_guest_customer(staff_api, db):
    response = staff_api.post(
        CUSTOMERS, {"email": " Gina@example.com ", "name": " Gina Guest ", "phone": "998944444444"}, format="json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    customer = Customer.objects.get(pk=body["id"])
    assert customer.user is None
    assert (customer.email, customer.name, customer.phone) == ("Gina@example.com", "Gina Guest", "998944444444")
    assert (body["email"], body["name"], body["phone"], body["is_guest"], body["order_count"]) == (
        "Gina@example.com",
        "Gina Guest",
        "998944444444",
        True,
        0,
    )
    assert not User.objects.filter(email__iexact="gina@example.com").exists()


def test_staff_create_without_a_phone_stores_an_empty_phone(staff_api, db):
    response = staff_api.post(CUSTOMERS, {"email": "gina@example.com", "name": "Gina Guest"}, format="json")

    assert response.status_code == 201, response.content
    assert Customer.objects.get().phone == ""


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ("email", "name")),
        ({"name": "Gina Guest"}, ("email",)),
        ({"email": "gina@example.com"}, ("name",)),
        ({"email": "not-an-email", "name": "Gina Guest"}, ("email",)),
        ({"email": "gina@example.com", "name": ""}, ("name",)),
        ({"email": "gina@example.com", "name": "Gina Guest", "phone": "9" * 33}, ("phone",)),
    ],
    ids=["nothing", "no-email", "no-name", "malformed-email", "blank-name", "phone-too-long"],
)
def test_staff_create_with_missing_or_invalid_fields_is_400_and_creates_nothing(staff_api, db, body, fields):
    response = staff_api.post(CUSTOMERS, body, format="json")

    assert_invalid(response, *fields)
    assert not Customer.objects.exists()


@pytest.mark.parametrize("email", ["gus@example.com", "Gus@Example.com", "GUS@EXAMPLE.COM"])
def test_staff_create_with_the_email_of_an_existing_guest_in_any_case_is_409_and_creates_nothing(
    staff_api, guest, email
):
    before = snapshot(guest)

    response = staff_api.post(CUSTOMERS, {"email": email, "name": "Second Gus"}, format="json")

    error = assert_error(response, 409, "email_taken")
    assert error["details"] == {"field": "email"}
    assert Customer.objects.count() == 1
    assert snapshot(guest) == before


# --- customers: retrieve --------------------------------------------------------------------------------------------


def test_staff_retrieve_shows_the_customer_with_their_order_count(staff_api, member, laptop):
    place_order({laptop: 1}, customer=member)
    place_order({laptop: 2}, customer=member)

    response = staff_api.get(detail(member))

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["email"], body["name"], body["phone"], body["is_guest"], body["order_count"]) == (
        member.pk,
        "mia@example.com",
        "Mia Member",
        "998900000001",
        False,
        2,
    )


def test_staff_retrieve_of_an_unknown_customer_is_404_not_found(staff_api, db):
    assert_error(staff_api.get(detail(999_999)), 404, "not_found")


# --- customers: replace and change ----------------------------------------------------------------------------------


def test_staff_put_replaces_a_guests_email_name_and_phone(staff_api, guest, laptop):
    place_order({laptop: 1}, email="gus@example.com")

    response = staff_api.put(
        detail(guest), {"email": "gus.new@example.com", "name": "Gus Renamed", "phone": ""}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["email"], body["name"], body["phone"], body["is_guest"], body["order_count"]) == (
        "gus.new@example.com",
        "Gus Renamed",
        "",
        True,
        1,
    )
    assert snapshot(guest) == ("gus.new@example.com", "Gus Renamed", "", None)


def test_staff_put_without_the_required_fields_is_400_and_changes_nothing(staff_api, guest):
    before = snapshot(guest)

    response = staff_api.put(detail(guest), {"phone": "998955555555"}, format="json")

    assert_invalid(response, "email", "name")
    assert snapshot(guest) == before


def test_staff_patch_changes_only_the_given_fields(staff_api, guest):
    response = staff_api.patch(detail(guest), {"phone": "998966666666"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["phone"] == "998966666666"
    assert snapshot(guest) == ("gus@example.com", "Gus Guest", "998966666666", None)


def test_staff_patch_with_an_invalid_email_is_400_and_changes_nothing(staff_api, guest):
    before = snapshot(guest)

    assert_invalid(staff_api.patch(detail(guest), {"email": "nope"}, format="json"), "email")
    assert snapshot(guest) == before


@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize("email", ["gina@example.com", "GINA@Example.COM"])
def test_staff_moving_a_guest_to_another_guests_email_in_any_case_is_409_and_changes_nothing(
    staff_api, guest, method, email
):
    gina = CustomerFactory(email="gina@example.com", name="Gina Guest")
    before, gina_before = snapshot(guest), snapshot(gina)

    response = getattr(staff_api, method)(detail(guest), {"email": email, "name": "Gus Guest"}, format="json")

    assert_error(response, 409, "email_taken")
    assert snapshot(guest) == before
    assert snapshot(gina) == gina_before


def test_staff_changing_a_registered_customers_email_changes_their_account_email(staff_api, member):
    response = staff_api.patch(detail(member), {"email": "mia.staff@example.com"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["is_guest"] is False
    assert snapshot(member) == ("mia.staff@example.com", "Mia Member", "998900000001", "mia.staff@example.com")


def test_staff_moving_a_registered_customer_to_another_accounts_email_is_409_and_changes_nothing(
    staff_api, member, other_member
):
    before, other_before = snapshot(member), snapshot(other_member)

    response = staff_api.patch(detail(member), {"email": "ZED@example.com"}, format="json")

    assert_error(response, 409, "email_taken")
    assert snapshot(member) == before
    assert snapshot(other_member) == other_before


def test_staff_update_of_an_unknown_customer_is_404(staff_api, db):
    response = staff_api.patch(detail(999_999), {"name": "Nobody"}, format="json")

    assert_error(response, 404, "not_found")
    assert not Customer.objects.exists()


# --- customers: delete ----------------------------------------------------------------------------------------------


def test_staff_delete_of_a_customer_without_orders_is_204_and_removes_them(staff_api, guest, member):
    response = staff_api.delete(detail(guest))

    assert response.status_code == 204, response.content
    assert not Customer.objects.filter(pk=guest.pk).exists()
    assert Customer.objects.filter(pk=member.pk).exists()


def test_staff_delete_of_a_registered_customer_without_orders_keeps_their_account(staff_api, member):
    response = staff_api.delete(detail(member))

    assert response.status_code == 204, response.content
    assert not Customer.objects.filter(pk=member.pk).exists()
    assert User.objects.filter(pk=member.user_id).exists()


def test_staff_delete_of_a_customer_with_orders_is_409_and_keeps_the_customer_and_orders(
    staff_api, member, laptop, mouse
):
    orders = [place_order({laptop: 1}, customer=member), place_order({mouse: 1}, customer=member)]

    response = staff_api.delete(detail(member))

    error = assert_error(response, 409, "customer_has_orders")
    assert error["details"] == {"customer_id": member.pk, "orders": 2}
    assert Customer.objects.filter(pk=member.pk).exists()
    assert set(Order.objects.filter(customer=member).values_list("pk", flat=True)) == {order.pk for order in orders}


def test_staff_delete_of_a_guest_with_orders_is_409(staff_api, guest, laptop):
    order = place_order({laptop: 1}, email="GUS@example.com")
    assert order.customer_id == guest.pk

    assert_error(staff_api.delete(detail(guest)), 409, "customer_has_orders")
    assert Order.objects.get(pk=order.pk).customer_id == guest.pk


def test_staff_delete_of_an_unknown_customer_is_404(staff_api, guest):
    assert_error(staff_api.delete(detail(999_999)), 404, "not_found")
    assert Customer.objects.count() == 1
