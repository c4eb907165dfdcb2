from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "tierdesk.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from tierdesk.notifications import receivers  # noqa: F401  (connects to sla_alarm)
