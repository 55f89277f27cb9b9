from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "flownally_admin.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy and access"
