from django.apps import AppConfig


class SelfServiceConfig(AppConfig):
    name = "tierdesk.selfservice"
    label = "selfservice"
    verbose_name = "Self-service and chat"
