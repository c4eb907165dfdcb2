"""How the SLA engine hears about tickets: every change recomputes the ticket's clocks."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from tierdesk.sla.tasks import recompute_ticket_clocks
from tierdesk.tickets.events import ticket_changed

# Events that cannot move a clock.
IRRELEVANT = {"noted", "attachment_added"}


@receiver(ticket_changed, dispatch_uid="sla.recompute")
def on_ticket_changed(sender: Any, ticket_id: int, event: str, **kwargs: Any) -> None:
    if event not in IRRELEVANT:
        recompute_ticket_clocks.delay(ticket_id)
