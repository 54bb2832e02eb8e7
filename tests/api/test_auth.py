"""Auth API: register, login (with the failed-login throttle), logout (refresh-token blacklist), refresh, the scoped
auth throttle, and two registrations of one email racing on PostgreSQL."""

from functools import partial

import pytest
from django.contrib.auth import get_user_model
from django.db.models.functions import Lower
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import RefreshToken

from shop.models import Customer
from tests.api.errors import INVALID_CUSTOMER_FIELDS, assert_error, assert_invalid
from tests.concurrency.race import race
from tests.factories import CustomerFactory, UserFactory

REGISTER = "/api/v1/auth/register/"
LOGIN = "/api/v1/auth/login/"
LOGOUT = "/api/v1/auth/logout/"
REFRESH = "/api/v1/auth/refresh/"
PROFILE = "/api/v1/profile/"

PASSWORD = "correct horse battery staple"  # what UserFactory gives every user
NEW_PASSWORD = "Tr1cky-Vessel-42"

User = get_user_model()


@pytest.fixture
def member(db):
    """A registered customer whose account and profile share one email, with the factory's password."""
    return CustomerFactory(user=UserFactory(email="mia@example.com"), email="mia@example.com", name="Mia Member")


def register_body(**overrides) -> dict:
    return {"email": "ann@example.com", "password": NEW_PASSWORD, "name": "Ann Smith", "phone": "998901112233"} | (
        overrides
    )


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def login(client: APIClient, email: str, password: str = PASSWORD, **extra):
    return client.post(LOGIN, {"email": email, "password": password}, format="json", **extra)


# --- register -------------------------------------------------------------------------------------------------------


def test_register_creates_an_account_and_profile_and_signs_the_customer_in(anonymous, db):
    response = anonymous.post(
        REGISTER, register_body(email="Ann@example.com", name="  Ann Smith ", phone=" 998901112233 "), format="json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"access", "refresh", "customer"}
    user = User.objects.get()
    customer = Customer.objects.get()
    assert customer.user == user
    assert (user.email, user.username) == ("Ann@example.com", "ann@example.com")
    assert user.check_password(NEW_PASSWORD)
    assert (customer.email, customer.name, customer.phone) == ("Ann@example.com", "Ann Smith", "998901112233")
    assert set(body["customer"]) == {"id", "email", "name", "phone", "created_at", "updated_at"}
    assert body["customer"]["id"] == customer.pk
    assert (body["customer"]["email"], body["customer"]["name"], body["customer"]["phone"]) == (
        "Ann@example.com",
        "Ann Smith",
        "998901112233",
    )
    # The access token works at once, and the refresh token belongs to the new user.
    profile = bearer(body["access"]).get(PROFILE)
    assert profile.status_code == 200, profile.content
    assert profile.json()["id"] == customer.pk
    assert RefreshToken(body["refresh"])["user_id"] in (user.pk, str(user.pk))


def test_register_without_a_phone_stores_an_empty_phone(anonymous, db):
    body = register_body()
    del body["phone"]

    response = anonymous.post(REGISTER, body, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["customer"]["phone"] == ""
    assert Customer.objects.get().phone == ""


def test_register_with_no_fields_is_400_naming_each_required_field_and_creates_nothing(anonymous, db):
    response = anonymous.post(REGISTER, {}, format="json")

    assert_invalid(response, "email", "password", "name")
    assert not User.objects.exists()
    assert not Customer.objects.exists()


@pytest.mark.parametrize(("overrides", "field"), INVALID_CUSTOMER_FIELDS)
def test_register_with_an_invalid_field_is_400_for_that_field_and_creates_nothing(anonymous, db, overrides, field):
    response = anonymous.post(REGISTER, register_body(**overrides), format="json")

    assert_invalid(response, field)
    assert not User.objects.exists()
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    "password",
    ["Sh0rt!", "password", "12345678901", ""],
    ids=["too-short", "too-common", "all-digits", "blank"],
)
def test_register_with_a_weak_password_is_400_for_password_and_creates_nothing(anonymous, db, password):
    response = anonymous.post(REGISTER, register_body(password=password), format="json")

    assert_invalid(response, "password")
    assert not User.objects.exists()
    assert not Customer.objects.exists()


def test_register_with_malformed_json_is_400_malformed_request(anonymous, db):
    response = anonymous.post(REGISTER, '{"email": ', content_type="application/json")

    assert_error(response, 400, "malformed_request")
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("existing", "new"),
    [
        ("ann@example.com", "ann@example.com"),
        ("Ann@Example.com", "ann@example.com"),
        ("ann@example.com", "ANN@EXAMPLE.COM"),
    ],
    ids=["same-case", "existing-capitalised", "new-upper-case"],
)
def test_register_with_an_email_already_registered_in_any_case_is_409_email_taken(anonymous, db, existing, new):
    first = anonymous.post(REGISTER, register_body(email=existing), format="json")
    assert first.status_code == 201, first.content

    response = anonymous.post(REGISTER, register_body(email=new, name="Someone Else"), format="json")

    error = assert_error(response, 409, "email_taken")
    assert error["details"] == {"field": "email"}
    assert User.objects.count() == 1
    assert Customer.objects.get().name == "Ann Smith"


def test_register_with_an_email_an_existing_user_has_in_another_case_is_409(anonymous, db):
    # The account exists with another username than its email (made by an admin, say): the email still counts.
    UserFactory(username="ann", email="Ann@Example.com")

    response = anonymous.post(REGISTER, register_body(email="ann@example.com"), format="json")

    assert_error(response, 409, "email_taken")
    assert User.objects.count() == 1
    assert not Customer.objects.exists()


def test_register_with_the_email_of_a_guest_customer_creates_an_account_and_leaves_the_guest_alone(anonymous, db):
    guest = CustomerFactory(email="ann@example.com", name="Guest Ann")

    response = anonymous.post(REGISTER, register_body(email="Ann@example.com"), format="json")

    assert response.status_code == 201, response.content
    guest.refresh_from_db()
    assert guest.user is None
    assert guest.name == "Guest Ann"
    assert response.json()["customer"]["id"] != guest.pk
    assert Customer.objects.count() == 2


# --- login ----------------------------------------------------------------------------------------------------------


def test_login_returns_a_jwt_pair_whose_access_token_opens_the_profile(anonymous, member):
    response = login(anonymous, "mia@example.com")

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access", "refresh"}
    profile = bearer(body["access"]).get(PROFILE)
    assert profile.status_code == 200, profile.content
    assert (profile.json()["id"], profile.json()["email"]) == (member.pk, "mia@example.com")


def test_a_registered_customer_can_log_in_with_the_password_they_chose(anonymous, db):
    anonymous.post(REGISTER, register_body(), format="json")

    response = login(anonymous, "ann@example.com", NEW_PASSWORD)

    assert response.status_code == 200, response.content
    assert set(response.json()) == {"access", "refresh"}


@pytest.mark.parametrize("email", ["MIA@EXAMPLE.COM", "Mia@Example.com", "  mia@example.com "])
def test_login_email_is_case_insensitive_and_trimmed(anonymous, member, email):
    response = login(anonymous, email)

    assert response.status_code == 200, response.content
    assert bearer(response.json()["access"]).get(PROFILE).json()["id"] == member.pk


def test_login_with_a_wrong_password_is_401_not_authenticated(anonymous, member):
    response = login(anonymous, "mia@example.com", "not the password")

    assert_error(response, 401, "not_authenticated")
    assert "access" not in response.content.decode()


def test_login_with_an_unknown_email_is_401_with_the_same_body_as_a_wrong_password(anonymous, member):
    wrong_password = login(anonymous, "mia@example.com", "not the password")
    unknown_email = login(anonymous, "nobody@example.com", "not the password")

    assert_error(unknown_email, 401, "not_authenticated")
    assert unknown_email.status_code == wrong_password.status_code
    assert unknown_email.json() == wrong_password.json()


def test_login_of_a_deactivated_user_is_401_even_with_the_right_password(anonymous, member):
    member.user.is_active = False
    member.user.save(update_fields=["is_active"])

    response = login(anonymous, "mia@example.com")

    assert_error(response, 401, "not_authenticated")


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ("email", "password")),
        ({"email": "mia@example.com"}, ("password",)),
        ({"password": PASSWORD}, ("email",)),
        ({"email": "not-an-email", "password": PASSWORD}, ("email",)),
    ],
    ids=["nothing", "no-password", "no-email", "malformed-email"],
)
def test_login_with_missing_or_invalid_fields_is_400(anonymous, member, body, fields):
    response = anonymous.post(LOGIN, body, format="json")

    assert_invalid(response, *fields)


# --- failed-login throttle ------------------------------------------------------------------------------------------


def fail_login(client: APIClient, email: str = "mia@example.com", **extra):
    """A login with a wrong password. Only "refused, but not throttled" is checked here: the status of a refused
    login has its own tests above, so these throttle tests fail only when the throttle is wrong."""
    response = login(client, email, "guess", **extra)
    assert response.status_code not in (200, 429), response.content
    assert response.json()["error"]["code"] == "not_authenticated"
    return response


@pytest.fixture
def failed_login_limit(settings):
    settings.FAILED_LOGIN_LIMIT = 3
    settings.FAILED_LOGIN_WINDOW_SECONDS = 600
    return 3


def test_after_the_failed_login_limit_even_the_right_password_is_refused_with_429(
    anonymous, member, failed_login_limit
):
    for _ in range(failed_login_limit):
        fail_login(anonymous)

    response = login(anonymous, "mia@example.com")

    error = assert_error(response, 429, "throttled")
    assert error["details"] == {"retry_after_seconds": 600}
    assert "access" not in response.content.decode()
    # Still refused on the next try: the count does not run down by being refused.
    assert_error(login(anonymous, "mia@example.com"), 429, "throttled")


def test_failed_logins_below_the_limit_do_not_stop_the_right_password(anonymous, member, failed_login_limit):
    for _ in range(failed_login_limit - 1):
        fail_login(anonymous)

    assert login(anonymous, "mia@example.com").status_code == 200


def test_failed_logins_count_for_the_email_in_any_case(anonymous, member, failed_login_limit):
    for email in ["MIA@example.com", "mia@EXAMPLE.com", "Mia@Example.Com"]:
        fail_login(anonymous, email)

    assert_error(login(anonymous, "mia@example.com"), 429, "throttled")


def test_failed_logins_for_an_unknown_email_are_throttled_like_a_known_one(anonymous, member, failed_login_limit):
    for _ in range(failed_login_limit):
        fail_login(anonymous, "nobody@example.com")

    assert_error(login(anonymous, "nobody@example.com", "guess"), 429, "throttled")


def test_a_successful_login_resets_the_failed_login_count(anonymous, member, failed_login_limit):
    for _ in range(failed_login_limit - 1):
        fail_login(anonymous)
    assert login(anonymous, "mia@example.com").status_code == 200

    # Without the reset these would make 2 * (limit - 1) >= limit failures in a row.
    for _ in range(failed_login_limit - 1):
        fail_login(anonymous)

    assert login(anonymous, "mia@example.com").status_code == 200


def test_failed_logins_for_one_email_do_not_lock_out_another_email(anonymous, member, failed_login_limit):
    CustomerFactory(user=UserFactory(email="zed@example.com"), email="zed@example.com")
    for _ in range(failed_login_limit):
        fail_login(anonymous)

    assert login(anonymous, "zed@example.com").status_code == 200
    assert_error(login(anonymous, "mia@example.com"), 429, "throttled")


def test_failed_logins_from_one_address_do_not_lock_out_another_address(anonymous, member, failed_login_limit):
    for _ in range(failed_login_limit):
        fail_login(anonymous, REMOTE_ADDR="10.0.0.1")

    assert_error(login(anonymous, "mia@example.com", REMOTE_ADDR="10.0.0.1"), 429, "throttled")
    assert login(anonymous, "mia@example.com", REMOTE_ADDR="10.0.0.2").status_code == 200


# --- the scoped "auth" throttle -------------------------------------------------------------------------------------


@pytest.fixture
def auth_rate(monkeypatch):
    """DRF reads DEFAULT_THROTTLE_RATES into ScopedRateThrottle.THROTTLE_RATES at import: patch the class."""
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "3/min"})
    return 3


def test_auth_requests_beyond_the_auth_rate_are_refused_with_429_and_retry_after(anonymous, member, auth_rate):
    for _ in range(auth_rate):
        assert login(anonymous, "mia@example.com").status_code == 200

    response = login(anonymous, "mia@example.com")

    error = assert_error(response, 429, "throttled")
    assert 0 < error["details"]["retry_after_seconds"] <= 60
    assert 0 < int(response["Retry-After"]) <= 60


def test_register_login_and_logout_share_one_auth_rate(anonymous, db, auth_rate):
    registered = anonymous.post(REGISTER, register_body(), format="json")
    assert registered.status_code == 201, registered.content
    assert login(anonymous, "ann@example.com", NEW_PASSWORD).status_code == 200
    assert anonymous.post(LOGOUT, {"refresh": registered.json()["refresh"]}, format="json").status_code == 205

    assert_error(anonymous.post(REGISTER, register_body(email="bob@example.com"), format="json"), 429, "throttled")
    assert not User.objects.filter(email="bob@example.com").exists()


def test_the_auth_rate_is_counted_per_client_address(anonymous, member, auth_rate):
    for _ in range(auth_rate):
        login(anonymous, "mia@example.com", REMOTE_ADDR="10.0.0.1")
    assert_error(login(anonymous, "mia@example.com", REMOTE_ADDR="10.0.0.1"), 429, "throttled")

    assert login(anonymous, "mia@example.com", REMOTE_ADDR="10.0.0.2").status_code == 200


def test_the_auth_rate_does_not_apply_to_the_profile(member, auth_rate):
    access = login(APIClient(), "mia@example.com").json()["access"]
    client = bearer(access)

    for _ in range(auth_rate + 2):
        assert client.get(PROFILE).status_code == 200


# --- logout ---------------------------------------------------------------------------------------------------------


def test_logout_blacklists_the_refresh_token_so_it_is_refused_at_refresh(anonymous, member):
    refresh = login(anonymous, "mia@example.com").json()["refresh"]

    response = anonymous.post(LOGOUT, {"refresh": refresh}, format="json")

    assert response.status_code == 205, response.content
    assert BlacklistedToken.objects.filter(token__jti=RefreshToken(refresh, verify=False)["jti"]).exists()
    assert_error(anonymous.post(REFRESH, {"refresh": refresh}, format="json"), 401, "not_authenticated")


def test_logout_revokes_only_the_given_session(anonymous, member):
    first = login(anonymous, "mia@example.com").json()["refresh"]
    second = login(anonymous, "mia@example.com").json()["refresh"]

    assert anonymous.post(LOGOUT, {"refresh": first}, format="json").status_code == 205

    response = anonymous.post(REFRESH, {"refresh": second}, format="json")
    assert response.status_code == 200, response.content


def test_logging_out_twice_with_one_refresh_token_is_400_the_second_time(anonymous, member):
    refresh = login(anonymous, "mia@example.com").json()["refresh"]
    assert anonymous.post(LOGOUT, {"refresh": refresh}, format="json").status_code == 205

    response = anonymous.post(LOGOUT, {"refresh": refresh}, format="json")

    assert_invalid(response, "refresh")
    assert BlacklistedToken.objects.count() == 1


@pytest.mark.parametrize("token_kind", ["garbage", "access-token", "blank"])
def test_logout_with_a_token_that_is_not_a_refresh_token_is_400_and_blacklists_nothing(anonymous, member, token_kind):
    tokens = login(anonymous, "mia@example.com").json()
    token = {"garbage": "not.a.token", "access-token": tokens["access"], "blank": ""}[token_kind]

    response = anonymous.post(LOGOUT, {"refresh": token}, format="json")

    assert_invalid(response, "refresh")
    assert not BlacklistedToken.objects.exists()


def test_logout_without_a_refresh_token_is_400(anonymous, db):
    assert_invalid(anonymous.post(LOGOUT, {}, format="json"), "refresh")


# --- refresh --------------------------------------------------------------------------------------------------------


def test_refresh_returns_a_new_pair_whose_access_token_opens_the_profile(anonymous, member):
    old = login(anonymous, "mia@example.com").json()

    response = anonymous.post(REFRESH, {"refresh": old["refresh"]}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert body["refresh"] != old["refresh"]
    profile = bearer(body["access"]).get(PROFILE)
    assert profile.status_code == 200, profile.content
    assert profile.json()["id"] == member.pk


def test_a_rotated_refresh_token_cannot_be_used_again(anonymous, member):
    refresh = login(anonymous, "mia@example.com").json()["refresh"]
    assert anonymous.post(REFRESH, {"refresh": refresh}, format="json").status_code == 200

    response = anonymous.post(REFRESH, {"refresh": refresh}, format="json")

    assert_error(response, 401, "not_authenticated")


@pytest.mark.parametrize("token_kind", ["garbage", "access-token"])
def test_refresh_with_a_token_that_is_not_a_valid_refresh_token_is_401(anonymous, member, token_kind):
    tokens = login(anonymous, "mia@example.com").json()
    token = {"garbage": "not.a.token", "access-token": tokens["access"]}[token_kind]

    response = anonymous.post(REFRESH, {"refresh": token}, format="json")

    assert_error(response, 401, "not_authenticated")


def test_refresh_without_a_token_is_400(anonymous, db):
    assert_invalid(anonymous.post(REFRESH, {}, format="json"), "refresh")


# --- racing registrations -------------------------------------------------------------------------------------------


def _register(email: str):
    return APIClient().post(REGISTER, register_body(email=email), format="json")


@pytest.mark.django_db(transaction=True)
@pytest.mark.concurrency
def test_two_simultaneous_registrations_of_one_email_make_one_account_and_the_other_gets_409():
    for round_ in range(5):
        email = f"racer{round_}@example.com"

        result = race(partial(_register, email), partial(_register, email.upper()))

        assert result.errors == []
        statuses = sorted(response.status_code for response in result.values)
        assert statuses == [201, 409], [response.content for response in result.values]
        loser = next(response for response in result.values if response.status_code == 409)
        assert_error(loser, 409, "email_taken")
        assert User.objects.alias(email_ci=Lower("email")).filter(email_ci=email).count() == 1
        assert Customer.objects.alias(email_ci=Lower("email")).filter(email_ci=email).count() == 1
