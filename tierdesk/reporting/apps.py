from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "tierdesk.reporting"
    label = "reporting"
    verbose_name = "Reports"
