"""Guessing passwords is slowed down: failed logins are counted per email and client address in the cache
(Redis when configured, so every server process shares the count)."""

import hashlib

from django.conf import settings
from django.core.cache import cache
from rest_framework import exceptions


def _failure_key(email: str, request) -> str:
    client = request.META.get("REMOTE_ADDR", "")
    return "failed-login:" + hashlib.sha256(f"{email.strip().lower()}|{client}".encode()).hexdigest()


def refuse_if_too_many_failures(email: str, request) -> None:
    if cache.get(_failure_key(email, request), 0) >= settings.FAILED_LOGIN_LIMIT:
        raise exceptions.Throttled(
            wait=settings.FAILED_LOGIN_WINDOW_SECONDS, detail="Too many failed logins; try again later."
        )


def count_failure(email: str, request) -> None:
    key = _failure_key(email, request)
    # add() is atomic: only the first failure starts the window; incr() then counts in place.
    if not cache.add(key, 1, timeout=settings.FAILED_LOGIN_WINDOW_SECONDS):
        try:
            cache.incr(key)
        except ValueError:
            cache.add(key, 1, timeout=settings.FAILED_LOGIN_WINDOW_SECONDS)


def forget_failures(email: str, request) -> None:
    cache.delete(_failure_key(email, request))
