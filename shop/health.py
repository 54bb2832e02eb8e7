"""Probes for the load balancer and the orchestrator."""

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe


@never_cache
@require_safe
def healthz(request):
    """The process is alive and serving requests."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request):
    """The process can do its work: the database and, when configured, Redis answer."""
    checks = {"database": _database_ok()}
    if settings.REDIS_URL:
        checks["redis"] = _cache_ok()
    ready = all(checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def _cache_ok() -> bool:
    try:
        cache.set("readyz", "1", timeout=5)
        return cache.get("readyz") == "1"
    except Exception:
        return False
