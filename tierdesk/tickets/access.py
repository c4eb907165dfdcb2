"""The only way to load a ticket (or what hangs off it) that a person names."""

from __future__ import annotations

from django.db.models import QuerySet

from tierdesk.accounts.scope import scope_for
from tierdesk.audit.services import record_ticket_access
from tierdesk.core.actor import Actor
from tierdesk.core.errors import NotFound
from tierdesk.tickets.models import Attachment, Ticket


def access_ticket(actor: Actor, *, number: str | None = None, pk: int | None = None, log_view: bool = False) -> Ticket:
    """Load a ticket the actor may see, else NotFound (never a hint that it exists).

    `log_view=True` writes the access log: use it wherever a person reads the ticket.
    """
    qs = Ticket.objects.visible_to(actor).for_detail()
    ticket = None
    if number is not None:
        ticket = qs.filter(number=number.upper()).first()
    elif pk is not None:
        ticket = qs.filter(pk=pk).first()
    if ticket is None:
        raise NotFound("No such ticket, or you may not see it.")
    if log_view:
        record_ticket_access(
            actor=actor, ticket_id=ticket.pk, ticket_number=ticket.number, organisation_id=ticket.organisation_id
        )
    return ticket


def visible_attachments(actor: Actor, ticket: Ticket) -> QuerySet[Attachment]:
    """Attachments of a ticket the actor already may see; internal ones for agents only."""
    qs = Attachment.objects.filter(ticket=ticket)
    return qs if scope_for(actor).is_agent_side else qs.filter(is_public=True)


def access_attachment(actor: Actor, *, ticket: Ticket, pk: int) -> Attachment:
    attachment = visible_attachments(actor, ticket).filter(pk=pk).first()
    if attachment is None:
        raise NotFound("No such attachment, or you may not see it.")
    return attachment
