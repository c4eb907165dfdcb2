from celery import shared_task

from tierdesk.routing import services


@shared_task(name="tierdesk.routing.route_new_ticket", ignore_result=True)
def route_new_ticket(ticket_id: int) -> None:
    services.route_new_ticket(ticket_id)


@shared_task(name="tierdesk.routing.assign_ticket", ignore_result=True)
def assign_ticket(ticket_id: int) -> None:
    services.auto_assign(ticket_id)


@shared_task(name="tierdesk.routing.carry_out_escalation_request", ignore_result=True)
def carry_out_escalation_request(request_id: int) -> None:
    services.carry_out_escalation_request(request_id)


@shared_task(name="tierdesk.routing.alert_if_p1", ignore_result=True)
def alert_if_p1(ticket_id: int) -> None:
    services.alert_if_p1(ticket_id)
