"""The only way to load a received e-mail that a person names: through a ticket they may see."""

from __future__ import annotations

from tierdesk.accounts.scope import scope_for
from tierdesk.core.actor import Actor
from tierdesk.core.errors import NotFound
from tierdesk.intake.models import InboundEmail
from tierdesk.tickets.models import Ticket


def access_ticket_email(actor: Actor, *, ticket: Ticket, pk: int) -> InboundEmail:
    """A message received on a ticket the actor already may see (agents only: it may hold what the
    requester's reply trimmed away, e.g. quoted internal mail)."""
    if not scope_for(actor).is_agent_side:
        raise NotFound("No such message, or you may not see it.")
    record = InboundEmail.objects.select_related("mailbox").filter(ticket=ticket, pk=pk).first()
    if record is None:
        raise NotFound("No such message, or you may not see it.")
    return record
