"""Who is asking, and which version of the order they saw."""

from rest_framework import exceptions, permissions

from shop.services import Actor

ORDER_TOKEN_HEADER = "X-Order-Token"


def order_token_of(request) -> str:
    return request.headers.get(ORDER_TOKEN_HEADER, "").strip()[:200]


def is_staff(user) -> bool:
    return bool(user and user.is_authenticated and user.is_staff)


def actor_for(request, *, guest_email: str = "") -> Actor:
    user = request.user
    if is_staff(user):
        return Actor.staff(user)
    if user.is_authenticated:
        return Actor.customer(user)
    return Actor.guest(guest_email)


def expected_version(request, body_version: int | None) -> int | None:
    """The version from `If-Match` ("3", W/"3" or 3) or the body's `version`; both must agree."""
    header = request.headers.get("If-Match", "").strip()
    header_version = None
    if header and header != "*":
        tag = header.removeprefix("W/").strip('"')
        if not tag.isdigit():
            raise exceptions.ValidationError({"If-Match": ['Send the order version, as its ETag gives it: "3".']})
        header_version = int(tag)
    if header_version is not None and body_version is not None and header_version != body_version:
        raise exceptions.ValidationError({"version": ["The If-Match header and the version field disagree."]})
    return header_version if header_version is not None else body_version


def etag_for(order) -> str:
    return f'"{order.version}"'


class IsAuthenticatedOrHoldsOrderToken(permissions.BasePermission):
    """Signed in, or presenting an order's access token (which order it opens is checked on lookup)."""

    message = "Sign in (Authorization: Bearer <token>) or present the order's access token (X-Order-Token)."

    def has_permission(self, request, view):
        return bool(request.user.is_authenticated or order_token_of(request))


class IsStaff(permissions.BasePermission):
    message = "Only staff may do this."

    def has_permission(self, request, view):
        return is_staff(request.user)
