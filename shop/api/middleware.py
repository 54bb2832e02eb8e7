import logging

from django.http import JsonResponse

logger = logging.getLogger("shop.api")


class JsonServerErrorMiddleware:
    """An unexpected error under /api/ still answers in the API's error shape (the traceback goes to the log)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not request.path.startswith("/api/"):
            return None
        logger.exception("Unhandled error in %s %s", request.method, request.path)
        body = {"error": {"code": "server_error", "message": "Something went wrong on our side.", "details": {}}}
        return JsonResponse(body, status=500)
