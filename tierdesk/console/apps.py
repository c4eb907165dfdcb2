from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The agent console: queues, the ticket page, bulk actions and call logging (no models)."""

    name = "tierdesk.console"
    label = "console"
