from django.apps import AppConfig


class CustomFieldsConfig(AppConfig):
    name = "customfields"
    verbose_name = "Custom fields"

    def ready(self):
        from . import receivers  # noqa: F401  (connects the signal receivers)
