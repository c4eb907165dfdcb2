"""What other apps hear from routing. Sent only after the transaction commits, with ids."""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal

# kwargs: ticket_id: int, recipient_ids: list[int], key: str, subject: str
# e.g. nobody eligible could take a ticket (the group's leads), a P1 arrived (supervisors on duty).
desk_alert = Signal()


def announce_alert(ticket_id: int, recipient_ids: list[int], key: str, subject: str) -> None:
    if not recipient_ids:
        return
    transaction.on_commit(
        lambda: desk_alert.send(
            sender="routing", ticket_id=ticket_id, recipient_ids=sorted(recipient_ids), key=key, subject=subject
        )
    )


# kwargs: escalation (a VendorEscalation). Sent INSIDE the transaction that hands the ticket to
# the vendor, so the e-mail queued by the receiver (an outbox row) commits with it or not at all.
vendor_handoff = Signal()

# kwargs: link_id: int (an EngineeringLink). Sent INSIDE the transaction that sends the ticket to
# engineering, like vendor_handoff (decision 0005): the tracker request queued by the receiver (an
# outbox row) commits with the hand-off or not at all, and a tracker the outbox cannot call
# (a bad address) refuses the hand-off instead of leaving a link that never opens.
engineering_handoff = Signal()
