from celery import shared_task

from tierdesk.notifications import services


@shared_task(name="tierdesk.notifications.notify_sla_alarm", ignore_result=True)
def notify_sla_alarm(sla_event_id: int, recipient_ids: list[int]) -> None:
    services.notify_sla_alarm(sla_event_id=sla_event_id, recipient_ids=recipient_ids)
