"""What other apps hear from the SLA engine. Sent only after the transaction commits, with ids."""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal

# kwargs: sla_event_id: int, ticket_id: int, recipient_ids: list[int]
sla_alarm = Signal()


def announce_alarm(sla_event_id: int, ticket_id: int, recipient_ids: list[int]) -> None:
    transaction.on_commit(
        lambda: sla_alarm.send(
            sender="sla", sla_event_id=sla_event_id, ticket_id=ticket_id, recipient_ids=sorted(recipient_ids)
        )
    )


# kwargs: request_id: int, ticket_id: int. Routing carries the request out.
escalation_requested = Signal()


def announce_escalation_request(request_id: int, ticket_id: int) -> None:
    transaction.on_commit(lambda: escalation_requested.send(sender="sla", request_id=request_id, ticket_id=ticket_id))
