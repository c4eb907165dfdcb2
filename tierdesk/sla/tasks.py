from celery import shared_task

from tierdesk.sla import services


@shared_task(name="tierdesk.sla.recompute_ticket_clocks", ignore_result=True)
def recompute_ticket_clocks(ticket_id: int) -> None:
    services.recompute_clocks(ticket_id)


@shared_task(name="tierdesk.sla.sweep", ignore_result=True)
def sweep() -> None:
    services.sweep()
