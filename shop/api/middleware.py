import logging

from django.http import JsonResponse

logger = logging.getLogger("shop.api")


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "details": {}}}, status=status)


class JsonErrorsMiddleware:
    """Under /api/, answers that never reached a DRF view (an unknown URL, an unexpected error) still come in the
    API's error shape, never as an HTML page. The traceback of an unexpected error goes to the log."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 404
            and request.path.startswith("/api/")
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return _error(404, "not_found", "Not found.")
        return response

    def process_exception(self, request, exception):
        if not request.path.startswith("/api/"):
            return None
        logger.exception("Unhandled error in %s %s", request.method, request.path)
        return _error(500, "server_error", "Something went wrong on our side.")
