from rest_framework.renderers import JSONRenderer


class ApiJSONRenderer(JSONRenderer):
    """Plain JSON; problem responses set their own `application/problem+json`."""

    charset = "utf-8"
