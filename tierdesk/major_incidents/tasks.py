from celery import shared_task

from tierdesk.major_incidents import services


@shared_task(name="tierdesk.major_incidents.consider_new_ticket", ignore_result=True)
def consider_new_ticket(ticket_id: int) -> None:
    """A new ticket joins the open major incident it belongs to, or may set off a declaration rule."""
    if services.correlate(ticket_id) is None:
        services.apply_declaration_rules(ticket_id)


@shared_task(name="tierdesk.major_incidents.resolve_children", ignore_result=True)
def resolve_children(major_id: int) -> None:
    services.resolve_children(major_id)


@shared_task(name="tierdesk.major_incidents.reopened", ignore_result=True)
def reopened(major_id: int) -> None:
    services.reopened(major_id)
