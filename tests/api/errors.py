"""Assertions on the API's one error shape, {"error": {"code", "message", "details"}}, and values it refuses."""

import pytest


def assert_error(response, status: int, code: str) -> dict:
    """The one error shape with the expected status and code; returns the inner object."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["details"], dict)
    return error


def assert_invalid(response, *fields: str) -> dict:
    """400 invalid_input with a non-empty list of messages for each of `fields` (and no other field)."""
    details = assert_error(response, 400, "invalid_input")["details"]
    assert set(details) == set(fields), details
    for field in fields:
        assert isinstance(details[field], list), details
        assert details[field], details
        assert all(isinstance(message, str) and message for message in details[field]), details
    return details


# A customer's fields are checked alike wherever they are written (registration, the profile): one value each rule
# refuses, with the field the 400 names.
INVALID_CUSTOMER_FIELDS = [
    pytest.param({"email": "not-an-email"}, "email", id="malformed-email"),
    pytest.param({"email": ""}, "email", id="blank-email"),
    pytest.param({"name": ""}, "name", id="blank-name"),
    pytest.param({"name": "x" * 201}, "name", id="name-too-long"),
    pytest.param({"phone": "9" * 33}, "phone", id="phone-too-long"),
]
