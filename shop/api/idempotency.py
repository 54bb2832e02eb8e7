"""`Idempotency-Key` for every POST, with Stripe's semantics (and the IETF idempotency-key draft's).

- The first request with a key records it (committed at once) and does the work; its response is stored if
  the work changed something (2xx, a declined payment, a refund the provider refused).
- A retry with the same key and the same body gets the stored response again, marked `Idempotent-Replayed: true`.
- The same key with another body is refused (422); a key whose first request is still running is refused (409).
- Responses that changed nothing (invalid input, refused transitions, conflicts) are not stored: the key is
  freed, so the caller can correct the request and send it again with the same key.
- Keys are scoped to the caller (user, guest order token, or client address) and purged after
  `IDEMPOTENCY_KEY_TTL_HOURS` by `manage.py purge_idempotency_keys`.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone

from shop.exceptions import ShopError
from shop.models import IdempotencyKey

from .access import order_token_of

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
STORED_STATUSES = {200, 201, 202, 204, 402, 502}
REPLAYED_HEADERS = ("Content-Type", "ETag", "Location")


class InvalidIdempotencyKey(ShopError):
    code = "invalid_idempotency_key"
    default_message = f"An Idempotency-Key is 1 to {MAX_KEY_LENGTH} printable characters."


class IdempotencyKeyInUse(ShopError):
    code = "idempotency_key_in_use"
    http_status = 409
    default_message = "A request with this Idempotency-Key is still being processed; retry in a moment."


class IdempotencyKeyReused(ShopError):
    code = "idempotency_key_reused"
    http_status = 422
    default_message = "This Idempotency-Key was already used with a different request."


@dataclass
class Replay(Exception):
    """Raised to short-circuit a view: the stored response is the answer."""

    record: IdempotencyKey

    def response(self) -> HttpResponse:
        response = HttpResponse(bytes(self.record.response_body or b""), status=self.record.response_status)
        for name, value in self.record.response_headers.items():
            response[name] = value
        response["Idempotent-Replayed"] = "true"
        return response


def begin(request) -> IdempotencyKey | None:
    """Claim the request's key, or raise Replay / a refusal. None when the request carries no key."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not 0 < len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidIdempotencyKey(key_length=len(key))
    scope, fingerprint = _scope_of(request), _fingerprint(request)
    for _ in range(3):
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(scope=scope, key=key, fingerprint=fingerprint)
        except IntegrityError:
            existing = IdempotencyKey.objects.filter(scope=scope, key=key).first()
        if existing is not None:
            break
        # The first request finished without storing anything and freed the key just now: claim it again.
    else:
        raise IdempotencyKeyInUse()
    if existing.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    if existing.state == IdempotencyKey.State.RUNNING:
        raise IdempotencyKeyInUse()
    raise Replay(existing)


def finish(record: IdempotencyKey, response) -> None:
    """Store the response of work that changed something; otherwise free the key."""
    if response.status_code not in STORED_STATUSES:
        release(record)
        return
    if hasattr(response, "render") and not response.is_rendered:
        response.render()
    record.state = IdempotencyKey.State.DONE
    record.response_status = response.status_code
    record.response_body = response.content
    record.response_headers = {name: response[name] for name in REPLAYED_HEADERS if name in response}
    record.finished_at = timezone.now()
    record.save(update_fields=["state", "response_status", "response_body", "response_headers", "finished_at"])


def release(record: IdempotencyKey) -> None:
    IdempotencyKey.objects.filter(pk=record.pk, state=IdempotencyKey.State.RUNNING).delete()


def purge_expired(*, older_than: timedelta | None = None) -> int:
    if older_than is None:
        older_than = timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - older_than).delete()
    return deleted


def _scope_of(request) -> str:
    if request.user.is_authenticated:
        return f"user:{request.user.pk}"
    token = order_token_of(request)
    if token:
        return "order-token:" + hashlib.sha256(token.encode()).hexdigest()
    return f"client:{request.META.get('REMOTE_ADDR', '')}"


def _fingerprint(request) -> str:
    body = request._request.body  # read before DRF parses it, so both see the same bytes
    try:
        canonical = json.dumps(json.loads(body or b"{}"), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(request.method.encode() + b" " + request.path.encode() + b"\n" + canonical).hexdigest()


class IdempotentPostMixin:
    """For DRF views: every POST honours `Idempotency-Key` (checked after authentication and permissions)."""

    idempotent = True

    def initial(self, request, *args, **kwargs):
        self.idempotency_record = None
        super().initial(request, *args, **kwargs)
        if request.method == "POST" and self.idempotent:
            self.idempotency_record = begin(request)

    def handle_exception(self, exc):
        if isinstance(exc, Replay):
            return exc.response()
        try:
            return super().handle_exception(exc)
        except BaseException:
            # An unexpected error: nothing is known to have been stored, so free the key for a retry.
            if getattr(self, "idempotency_record", None):
                release(self.idempotency_record)
                self.idempotency_record = None
            raise

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if getattr(self, "idempotency_record", None):
            finish(self.idempotency_record, response)
            self.idempotency_record = None
        return response
