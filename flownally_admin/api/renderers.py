from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer


class ApiJSONRenderer(JSONRenderer):
    """Plain JSON; problem responses set their own `application/problem+json`."""

    charset = "utf-8"


class JsonOnlyNegotiation(DefaultContentNegotiation):
    """The API answers JSON whatever `Accept` or `?format=` say: there is nothing else to
    offer, a 406 would only break clients that send `Accept: text/html`, and reading
    `?format=` here would parse the query string before the request is authenticated."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type
