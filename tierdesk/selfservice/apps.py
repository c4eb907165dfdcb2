from django.apps import AppConfig


class SelfServiceConfig(AppConfig):
    name = "tierdesk.selfservice"
    label = "selfservice"
    verbose_name = "Self-service and chat"

    def ready(self) -> None:
        from tierdesk.selfservice import catalogue
        from tierdesk.tickets import assignment

        # Nobody works on a service request still waiting for its approval.
        assignment.register(catalogue.waiting_for_approval)
        assignment.register_hold(catalogue.waiting_for_approval)
