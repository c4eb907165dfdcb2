from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "tierdesk.core"
    label = "core"

    def ready(self) -> None:
        from tierdesk.core import lookups  # noqa: F401  (registers the in_scope lookup)
