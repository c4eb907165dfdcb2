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
    elif event == "updated":
        fields = data.get("fields", ())
        if "support_group_id" in fields:
            tasks.assign_ticket.delay(ticket_id)  # moved into a group: its strategy may pick the agent
        if "priority" in fields:
            tasks.alert_if_p1.delay(ticket_id)  # raised to P1: the supervisors on duty hear of it


@receiver(escalation_requested, dispatch_uid="routing.escalation_requested")
def on_escalation_requested(sender: Any, request_id: int, **kwargs: Any) -> None:
    tasks.carry_out_escalation_request.delay(request_id)
