"""What other apps hear from tickets. Sent only after the transaction commits, with ids."""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal

# kwargs: ticket_id: int, event: str ("opened", "replied", "status_changed", ...), data: dict
ticket_changed = Signal()


def announce(ticket_id: int, event: str, data: dict[str, object] | None = None) -> None:
    transaction.on_commit(
        lambda: ticket_changed.send(sender="tickets", ticket_id=ticket_id, event=event, data=data or {})
    )
