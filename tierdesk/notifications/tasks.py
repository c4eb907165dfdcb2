from celery import shared_task

from tierdesk.notifications import requester_mail, services


@shared_task(name="tierdesk.notifications.notify_sla_alarm", ignore_result=True)
def notify_sla_alarm(sla_event_id: int, recipient_ids: list[int]) -> None:
    services.notify_sla_alarm(sla_event_id=sla_event_id, recipient_ids=recipient_ids)


@shared_task(name="tierdesk.notifications.notify", ignore_result=True)
def notify(recipient_ids: list[int], key: str, subject: str, ticket_id: int | None = None) -> None:
    services.notify(recipient_ids=recipient_ids, key=key, subject=subject, ticket_id=ticket_id)


@shared_task(name="tierdesk.notifications.deliver_outbox_message", ignore_result=True)
def deliver_outbox_message(message_id: int) -> None:
    from tierdesk.notifications import outbox

    outbox.deliver(message_id)


@shared_task(name="tierdesk.notifications.deliver_outbox", ignore_result=True)
def deliver_outbox() -> None:
    from tierdesk.notifications import outbox

    outbox.deliver_due()


@shared_task(name="tierdesk.notifications.acknowledge_ticket", ignore_result=True)
def acknowledge_ticket(ticket_id: int) -> None:
    requester_mail.acknowledge(ticket_id=ticket_id)


@shared_task(name="tierdesk.notifications.mail_agent_reply", ignore_result=True)
def mail_agent_reply(entry_id: int) -> None:
    requester_mail.mail_agent_reply(entry_id=entry_id)


@shared_task(name="tierdesk.notifications.mail_status_change", ignore_result=True)
def mail_status_change(entry_id: int) -> None:
    requester_mail.mail_status_change(entry_id=entry_id)
