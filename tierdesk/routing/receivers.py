"""How routing hears from tickets (a new one arrived) and from the SLA engine (escalate this)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from tierdesk.routing import tasks
from tierdesk.sla.events import escalation_requested
from tierdesk.tickets.events import ticket_changed


@receiver(ticket_changed, dispatch_uid="routing.route_new_ticket")
def on_ticket_changed(sender: Any, ticket_id: int, event: str, data: dict[str, Any], **kwargs: Any) -> None:
    if event == "opened":
        tasks.route_new_ticket.delay(ticket_id)
    elif event == "updated" and "support_group_id" in data.get("fields", ()):
        tasks.assign_ticket.delay(ticket_id)  # moved into a group: its strategy may pick the agent


@receiver(escalation_requested, dispatch_uid="routing.escalation_requested")
def on_escalation_requested(sender: Any, request_id: int, **kwargs: Any) -> None:
    tasks.carry_out_escalation_request.delay(request_id)
