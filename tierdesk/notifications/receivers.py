"""How notifications hear from the SLA engine: each alarm becomes a task with ids."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from tierdesk.notifications.tasks import notify_sla_alarm
from tierdesk.sla.events import sla_alarm


@receiver(sla_alarm, dispatch_uid="notifications.sla_alarm")
def on_sla_alarm(sender: Any, sla_event_id: int, recipient_ids: list[int], **kwargs: Any) -> None:
    notify_sla_alarm.delay(sla_event_id, recipient_ids)
