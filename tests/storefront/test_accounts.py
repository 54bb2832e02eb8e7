"""Accounts through django-allauth: the email is the login; a verified address brings the guest's orders along."""

import re

import pytest
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from django.contrib.auth import get_user_model
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core import mail
from django.test import RequestFactory
from django.urls import reverse

from shop.models import Customer, Order
from shop.services.checkout import guest_token_for
from tests.factories import UserFactory
from tests.storefront.helpers import add_to_cart, assert_accessible_page, checkout_form, page, session_cart

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def is_signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def links_in(message) -> list[str]:
    return re.findall(r"https?://testserver(/\S+)", message.body)


def sign_up(client, email, password="A-very-long-passphrase-9"):
    return client.post(reverse("account_signup"), {"email": email, "password1": password, "password2": password})


def my_order_numbers(client) -> list[str]:
    response = client.get(reverse("storefront:account-orders"))
    assert response.status_code == 200
    table = page(response).find("table")
    return [link.text for link in table.find_all("a")] if table else []


@pytest.fixture
def guest_order_of_ann(client, laptop):
    """Ann ordered as a guest through the storefront, as ann@example.com."""
    add_to_cart(client, laptop, 1)
    response = client.post(reverse("storefront:checkout"), checkout_form(client))
    assert response.status_code == 302
    client.cookies.clear()  # she closes the browser
    mail.outbox.clear()
    return Order.objects.get()


# --- Sign up, log in, log out, reset ----------------------------------------------------------


def test_the_signup_page_asks_for_email_and_password_twice(client):
    response = client.get(reverse("account_signup"))

    assert response.status_code == 200
    tree = page(response)
    assert tree.find("h1").text == "Sign Up"
    form = tree.find("form", method="post")
    names = {field.attrs["name"] for field in form.find_all("input") if field.attrs.get("type") != "hidden"}
    assert names == {"email", "password1", "password2"}
    assert tree.find("label", **{"for": "id_email"}) is not None
    assert "base.html" in [template.name for template in response.templates]  # inside the shop's layout


def test_signing_up_creates_the_account_signs_in_and_sends_a_confirmation(client):
    response = sign_up(client, "new@example.com")

    assert response.status_code == 302
    user = get_user_model().objects.get(email="new@example.com")
    assert is_signed_in(client)
    address = EmailAddress.objects.get(user=user)
    assert (address.email, address.verified, address.primary) == ("new@example.com", False, True)
    [message] = mail.outbox
    assert message.to == ["new@example.com"]
    assert message.subject.startswith("[Shop] ")
    assert any("/accounts/confirm-email/" in link for link in links_in(message))


def test_signing_up_with_an_email_already_registered_is_refused(client):
    UserFactory(email="taken@example.com")
    EmailAddress.objects.create(
        user=get_user_model().objects.get(email="taken@example.com"), email="taken@example.com", verified=True
    )

    response = sign_up(client, "TAKEN@example.com")

    assert response.status_code == 200
    assert get_user_model().objects.filter(email__iexact="taken@example.com").count() == 1
    assert not is_signed_in(client)


def test_the_login_page_asks_for_email_and_password(client):
    tree = page(client.get(reverse("account_login")))

    form = tree.find("form", method="post")
    assert form.find("input", name="login").attrs["type"] == "email"
    assert form.find("input", name="password") is not None


def test_logging_in_with_the_email_signs_in_and_shows_my_orders(client):
    UserFactory(email="sam@example.com", password=PASSWORD)

    response = client.post(reverse("account_login"), {"login": "sam@example.com", "password": PASSWORD}, follow=True)

    assert is_signed_in(client)
    assert response.redirect_chain[-1][0] == reverse("storefront:catalog")
    navbar = page(response).find("nav")
    assert "sam@example.com" in navbar.text
    assert navbar.find("a", href=reverse("storefront:account-orders")) is not None


def test_logging_in_with_the_email_in_another_case_works(client):
    UserFactory(email="sam@example.com", password=PASSWORD)

    client.post(reverse("account_login"), {"login": "SAM@Example.com", "password": PASSWORD})

    assert is_signed_in(client)


def test_logging_in_with_a_wrong_password_is_refused_with_an_error(client):
    UserFactory(email="sam@example.com", password=PASSWORD)

    response = client.post(reverse("account_login"), {"login": "sam@example.com", "password": "nope"})

    assert response.status_code == 200
    assert not is_signed_in(client)
    assert "not correct" in page(response).find("form", method="post").text


def test_logging_in_then_back_to_the_checkout_keeps_the_cart(client, laptop):
    UserFactory(email="sam@example.com", password=PASSWORD)
    add_to_cart(client, laptop, 2)

    response = client.post(
        f"{reverse('account_login')}?next=/checkout/", {"login": "sam@example.com", "password": PASSWORD}
    )

    assert response.url == "/checkout/"
    assert session_cart(client) == {"LAP-001": 2}


def test_logging_out_signs_out(client):
    user = UserFactory(email="sam@example.com")
    client.force_login(user)

    response = client.post(reverse("account_logout"), follow=True)

    assert not is_signed_in(client)
    assert response.redirect_chain[-1][0] == reverse("storefront:catalog")
    assert page(response).find("nav").find("a", href=reverse("account_login")) is not None


def test_the_navbar_logout_button_posts_to_logout(client):
    client.force_login(UserFactory())

    form = page(client.get(reverse("storefront:catalog"))).find("nav").find("form")

    assert (form.attrs["method"], form.attrs["action"]) == ("post", reverse("account_logout"))


def test_requesting_a_password_reset_emails_a_reset_link(client):
    UserFactory(email="sam@example.com")

    response = client.post(reverse("account_reset_password"), {"email": "sam@example.com"})

    assert response.status_code == 302
    assert response.url == reverse("account_reset_password_done")
    [message] = mail.outbox
    assert message.to == ["sam@example.com"]
    assert any("/accounts/password/reset/key/" in link for link in links_in(message))


def test_the_reset_link_lets_the_user_set_a_new_password_and_log_in_with_it(client):
    UserFactory(email="sam@example.com")
    client.post(reverse("account_reset_password"), {"email": "sam@example.com"})
    [link] = [link for link in links_in(mail.outbox[0]) if "/password/reset/key/" in link]

    form_page = client.get(link, follow=True)
    new_password = "Another-long-passphrase-7"
    done = client.post(form_page.redirect_chain[-1][0], {"password1": new_password, "password2": new_password})
    assert done.status_code == 302

    client.post(reverse("account_login"), {"login": "sam@example.com", "password": new_password})

    assert is_signed_in(client)


# --- A guest's orders follow a verified address -----------------------------------------------


def test_a_guest_who_signs_up_and_confirms_the_address_sees_the_guest_order_in_my_orders(client, guest_order_of_ann):
    sign_up(client, "ANN@example.com")
    [message] = mail.outbox
    [confirm] = [link for link in links_in(message) if "/accounts/confirm-email/" in link]

    confirmation_page = client.get(confirm)
    assert confirmation_page.status_code == 200
    assert_accessible_page(confirmation_page)
    client.post(confirm)

    assert EmailAddress.objects.get(email__iexact="ann@example.com").verified
    assert my_order_numbers(client) == [guest_order_of_ann.number]
    order = Order.objects.get()
    assert order.customer.user.email.lower() == "ann@example.com"
    assert not Customer.objects.filter(user__isnull=True, email__iexact="ann@example.com").exists()
    tree = page(client.get(reverse("storefront:account-order", args=[order.number])))
    assert tree.find("h1").text == f"Order {order.number}"
    assert any("Guest order linked to the account" in entry.text for entry in tree.by_testid("timeline").find_all("li"))


def test_a_signup_whose_address_is_not_confirmed_does_not_see_the_guest_order(client, guest_order_of_ann):
    sign_up(client, "ann@example.com")

    assert is_signed_in(client)
    assert my_order_numbers(client) == []
    assert client.get(reverse("storefront:account-order", args=[guest_order_of_ann.number])).status_code == 404
    assert Order.objects.get().customer.user is None


def test_confirming_through_the_email_address_model_claims_the_guest_orders(client, guest_order_of_ann):
    sign_up(client, "Ann@Example.com")
    address = EmailAddress.objects.get(email__iexact="ann@example.com")
    assert not address.verified
    request = RequestFactory().get("/")
    request.session = client.session
    request.user = address.user
    request._messages = FallbackStorage(request)

    EmailConfirmationHMAC(address).confirm(request)

    assert my_order_numbers(client) == [guest_order_of_ann.number]


def test_the_guests_private_link_still_opens_the_order_after_it_was_claimed(client, guest_order_of_ann):
    token = guest_token_for(guest_order_of_ann.checkout_submission.key)
    sign_up(client, "ann@example.com")
    [confirm] = [link for link in links_in(mail.outbox[0]) if "/accounts/confirm-email/" in link]
    client.post(confirm)
    assert Order.objects.get().customer.user is not None

    client.logout()

    assert client.get(reverse("storefront:guest-order", args=[token])).status_code == 200


def test_someone_else_confirming_another_address_does_not_get_the_guest_order(client, guest_order_of_ann):
    sign_up(client, "mallory@example.com")
    [confirm] = [link for link in links_in(mail.outbox[0]) if "/accounts/confirm-email/" in link]
    client.post(confirm)

    assert my_order_numbers(client) == []
    assert Order.objects.get().customer.user is None
