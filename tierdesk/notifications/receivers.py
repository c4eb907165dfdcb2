"""How notifications hear from tickets, the SLA engine and routing: each cause becomes a task with ids."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from tierdesk.notifications import requester_mail, services, trackers
from tierdesk.notifications.tasks import (
    acknowledge_ticket,
    mail_agent_reply,
    mail_status_change,
    notify,
    notify_sla_alarm,
)
from tierdesk.routing.events import desk_alert, engineering_handoff, vendor_handoff
from tierdesk.sla.events import sla_alarm
from tierdesk.tickets.events import ticket_changed


@receiver(sla_alarm, dispatch_uid="notifications.sla_alarm")
def on_sla_alarm(sender: Any, sla_event_id: int, recipient_ids: list[int], **kwargs: Any) -> None:
    notify_sla_alarm.delay(sla_event_id, recipient_ids)


@receiver(desk_alert, dispatch_uid="notifications.desk_alert")
def on_desk_alert(sender: Any, ticket_id: int, recipient_ids: list[int], key: str, subject: str, **kwargs: Any) -> None:
    notify.delay(recipient_ids, key, subject, ticket_id)


@receiver(vendor_handoff, dispatch_uid="notifications.vendor_handoff")
def on_vendor_handoff(sender: Any, escalation: Any, **kwargs: Any) -> None:
    services.queue_vendor_mail(escalation)  # in the escalation's own transaction


@receiver(engineering_handoff, dispatch_uid="notifications.engineering_handoff")
def on_engineering_handoff(sender: Any, link_id: int, **kwargs: Any) -> None:
    trackers.queue_issue(link_id)  # in the hand-off's own transaction


@receiver(ticket_changed, dispatch_uid="notifications.requester_mail")
def on_ticket_changed(sender: Any, ticket_id: int, event: str, data: dict[str, Any], **kwargs: Any) -> None:
    """The requester hears of a new ticket, an agent's reply and the status changes that concern them."""
    if requester_mail.is_silenced():
        return
    entry_id = data.get("entry_id")
    if event == "opened":
        acknowledge_ticket.delay(ticket_id)
    elif event == "replied" and entry_id:
        mail_agent_reply.delay(entry_id)  # the task decides whether the author is an agent
    elif entry_id and requester_mail.kind_for_status_change(event, str(data.get("new", ""))):
        mail_status_change.delay(entry_id)


# What the outbox does around an engineering issue: sign it as it leaves, record the answer or the give-up.
trackers.register()
