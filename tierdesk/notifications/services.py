"""Writers of notifications: what the desk tells its people, each cause at most once per person."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import transaction

from tierdesk.accounts.models import User
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.core.errors import NotFound
from tierdesk.notifications import outbox
from tierdesk.notifications.models import Notification, OutboxMessage
from tierdesk.routing.models import VendorEscalation
from tierdesk.sla.models import SlaEvent
from tierdesk.tickets.models import Ticket


@transaction.atomic
def notify_sla_alarm(*, sla_event_id: int, recipient_ids: Iterable[int]) -> list[Notification]:
    """Tell each recipient about a warning or breach. Idempotent: a retried task adds nothing."""
    event = SlaEvent.objects.select_related("clock__ticket").filter(pk=sla_event_id).first()
    if event is None:
        return []
    ticket = event.clock.ticket
    what = "breached" if event.kind == SlaEvent.Kind.BREACH else f"is at {event.percent} %"
    subject = f"SLA {event.kind}: {event.clock.get_kind_display()} of {ticket.number} {what}"
    body = f"{ticket.number} {ticket.title}\nClock: {event.clock.get_kind_display()} ({event.clock.owner})"
    created = []
    # Only active people of the ticket's provider; an id from a stale event never crosses tenants.
    provider_id = ticket.organisation.provider_id or ticket.organisation_id
    for user_id in User.objects.agents_of(provider_id).filter(pk__in=list(recipient_ids)).values_list("pk", flat=True):
        row, made = Notification.objects.get_or_create(
            recipient_id=user_id,
            key=f"sla_event:{event.pk}",
            defaults={"organisation_id": provider_id, "ticket": ticket, "subject": subject[:250], "body": body},
        )
        if made:
            created.append(row)
    return created


@transaction.atomic
def notify(*, recipient_ids: Iterable[int], key: str, subject: str, ticket_id: int | None = None) -> list[Notification]:
    """Tell people of the ticket's provider something, once per key. Idempotent."""
    ticket = Ticket.objects.select_related("organisation").filter(pk=ticket_id).first() if ticket_id else None
    if ticket_id and ticket is None:
        return []
    provider_id = (ticket.organisation.provider_id or ticket.organisation_id) if ticket else None
    people = User.objects.filter(pk__in=list(recipient_ids), is_active=True)
    created = []
    for user in people:
        if provider_id is not None and user.organisation_id != provider_id:
            continue  # an id from a stale event never crosses tenants
        row, made = Notification.objects.get_or_create(
            recipient=user,
            key=key[:80],
            defaults={"organisation_id": user.organisation_id, "ticket": ticket, "subject": subject[:250]},
        )
        if made:
            created.append(row)
    return created


def thread_message_id(ticket_number: str, part: str) -> str:
    """Our Message-ID for mail about a ticket; replies carry it back (In-Reply-To) to thread them."""
    return f"<{ticket_number}.{part}@{settings.MESSAGE_ID_DOMAIN}>"


def queue_vendor_mail(escalation: VendorEscalation) -> OutboxMessage | None:
    """The e-mail that hands a ticket to a vendor, queued in the caller's transaction
    (None when the vendor's contact is a mailer daemon: nothing is queued then)."""
    ticket = escalation.ticket
    body = "\n".join(
        [
            f"Hello {escalation.contact.name},",
            "",
            escalation.message,
            "",
            f"Our reference: {ticket.number} ({ticket.get_priority_display()})",
            f"Client: {ticket.organisation.name}",
            f"Summary: {ticket.title}",
            *([f"Your reference: {escalation.vendor_reference}"] if escalation.vendor_reference else []),
            "",
            f"Please reply to this message and keep [{ticket.number}] in the subject.",
        ]
    )
    return outbox.queue_email(
        organisation_id=ticket.organisation_id,
        key=f"vendor:{escalation.pk}",
        purpose="vendor_escalation",
        ticket_id=ticket.pk,
        to=[escalation.contact.email],
        subject=f"[{ticket.number}] {' '.join(ticket.title.split())}",  # one line, whatever the title holds
        body=body,
        message_id=thread_message_id(ticket.number, f"vendor-{escalation.pk}"),
    )


@transaction.atomic
def mark_read(*, actor: Actor, notification_ids: Iterable[int] | None = None) -> int:
    """Mark the actor's own notifications read (all of them when no ids are given)."""
    if actor.user is None:
        raise NotFound("Only a person has notifications.")
    mine = Notification.objects.for_recipient(actor.user).unread()
    if notification_ids is not None:
        mine = mine.filter(pk__in=list(notification_ids))
    return mine.update(read_at=clock.now())
