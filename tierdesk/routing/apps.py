from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "tierdesk.routing"
    label = "routing"
    verbose_name = "Routing and escalation"

    def ready(self) -> None:
        from tierdesk.routing import eligibility, receivers, services  # noqa: F401  (registers checks and listeners)
        from tierdesk.tickets import assignment, classification

        for check in eligibility.CHECKS:
            assignment.register(check)
        classification.register(services.ticket_type_for)
