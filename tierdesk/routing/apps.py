from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "tierdesk.routing"
    label = "routing"
    verbose_name = "Routing and escalation"

    def ready(self) -> None:
        from tierdesk.routing import eligibility, receivers  # noqa: F401  (registers checks and listeners)
        from tierdesk.tickets import assignment

        for check in eligibility.CHECKS:
            assignment.register(check)
