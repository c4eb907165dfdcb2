"""How major incidents hear from tickets: a new ticket may belong to one; the major incident's own
ticket resolving (by an agent or a monitoring recovery) resolves its children."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from tierdesk.major_incidents import tasks
from tierdesk.major_incidents.models import MajorIncident
from tierdesk.tickets.choices import TicketStatus
from tierdesk.tickets.events import ticket_changed


@receiver(ticket_changed, dispatch_uid="major_incidents.on_ticket_changed")
def on_ticket_changed(sender: Any, ticket_id: int, event: str, data: dict[str, Any], **kwargs: Any) -> None:
    if event == "opened":
        tasks.consider_new_ticket.delay(ticket_id)
    elif event in ("status_changed", "reopened"):
        major_id = MajorIncident.objects.filter(ticket_id=ticket_id).values_list("pk", flat=True).first()
        if major_id is None:
            return
        if event == "reopened":
            tasks.reopened.delay(major_id)
        elif data.get("new") == TicketStatus.RESOLVED:
            tasks.resolve_children.delay(major_id)
