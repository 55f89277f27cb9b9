from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "flownally_admin.api"
    label = "api"
    verbose_name = "API plumbing"

    def ready(self):
        from . import schema  # noqa: F401  (registers the OpenAPI auth extension)
