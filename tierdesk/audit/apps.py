from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "tierdesk.audit"
    label = "audit"
    verbose_name = "Audit trail"
