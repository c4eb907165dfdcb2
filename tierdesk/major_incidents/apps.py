from django.apps import AppConfig


class MajorIncidentsConfig(AppConfig):
    name = "tierdesk.major_incidents"
    label = "major_incidents"
    verbose_name = "Major incidents"

    def ready(self) -> None:
        from tierdesk.major_incidents import receivers  # noqa: F401  (connects to ticket_changed)
