from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "tierdesk.sla"
    label = "sla"
    verbose_name = "Service levels"

    def ready(self) -> None:
        from tierdesk.sla import receivers  # noqa: F401  (connects to ticket_changed)
