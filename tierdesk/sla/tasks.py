from celery import shared_task

from tierdesk.sla import services


@shared_task(name="tierdesk.sla.recompute_ticket_clocks", ignore_result=True)
def recompute_ticket_clocks(ticket_id: int) -> None:
    services.recompute_clocks(ticket_id)


@shared_task(name="tierdesk.sla.sweep", ignore_result=True)
def sweep() -> None:
    services.sweep()


@shared_task(name="tierdesk.sla.recompute_provider_clocks", ignore_result=True)
def recompute_provider_clocks(provider_id: int) -> None:
    services.recompute_open_clocks(provider_id)
