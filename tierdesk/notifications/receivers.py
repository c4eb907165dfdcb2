"""How notifications hear from the SLA engine and routing: each alarm becomes a task with ids."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from tierdesk.notifications import services, trackers
from tierdesk.notifications.tasks import notify, notify_sla_alarm
from tierdesk.routing.events import desk_alert, engineering_handoff, vendor_handoff
from tierdesk.sla.events import sla_alarm


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


# What the outbox does around an engineering issue: sign it as it leaves, record the answer or the give-up.
trackers.register()
