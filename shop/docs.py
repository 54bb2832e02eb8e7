"""The API documentation pages, under the shop's Content Security Policy.

ReDoc (a vendored third-party bundle) writes two fixed <style> elements at start-up and runs its search in a
worker made from a blob: URL; its page allows exactly those two styles by hash and blob: workers, nothing inline
that could be injected. ReDoc also asks for its logo at cdn.redoc.ly: the policy refuses it, so nothing is
loaded from the internet (the browser reports that one refused image).
"""

from csp.decorators import csp_update
from django.utils.decorators import method_decorator
from drf_spectacular.views import SpectacularRedocView

REDOC_STYLE_HASHES = [
    "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",  # webpack style-loader's stylesheet
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",  # styled-components' empty <style data-styled>
]


@method_decorator(csp_update({"style-src": REDOC_STYLE_HASHES, "worker-src": ["'self'", "blob:"]}), name="dispatch")
class RedocView(SpectacularRedocView):
    pass
