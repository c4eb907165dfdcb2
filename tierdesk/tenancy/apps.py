from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "tierdesk.tenancy"
    label = "tenancy"
    verbose_name = "Organisations"
