from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "tierdesk.intake"
    label = "intake"
    verbose_name = "Intake channels"
