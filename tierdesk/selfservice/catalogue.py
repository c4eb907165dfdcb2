"""The software catalogue and its approvals: what a requester may ask for, the service request
it opens, and the approver group's decision on it.

A request for an item that needs approval opens a service request that nobody works on yet:
no group, no assignee, and a pending `ServiceRequestApproval` for the item's approver group.
A member of that group decides once; approval hands the ticket to the fulfilment group,
rejection cancels it with the reason (the requester hears of it by the usual status mail).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet

from tierdesk.accounts.choices import Role
from tierdesk.accounts.models import GroupMembership, Requester, SupportGroup
from tierdesk.accounts.scope import scope_for
from tierdesk.audit.services import record_event
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError, NotFound, PermissionDenied
from tierdesk.selfservice.choices import ApprovalStatus
from tierdesk.selfservice.models import CatalogItem, Conversation, ServiceRequestApproval
from tierdesk.tenancy.models import Organisation
from tierdesk.tickets import services as tickets
from tierdesk.tickets.choices import Channel, TicketStatus, TicketType
from tierdesk.tickets.models import Ticket

# The catalogue routes what it opens; a requester may not choose a group themselves.
CATALOGUE = Actor(user=None, via="system", name="Software catalogue")


# --- the catalogue itself -----------------------------------------------------------------------


@transaction.atomic
def create_catalog_item(
    *,
    actor: Actor,
    provider: Organisation,
    name: str,
    description: str = "",
    keywords: str = "",
    offered_to: list[Organisation] | None = None,
    requires_approval: bool = False,
    approver_group: SupportGroup | None = None,
    fulfilment_group: SupportGroup | None = None,
) -> CatalogItem:
    """Add an item to the provider's catalogue (demo data and commands; admins use the admin)."""
    if not provider.is_provider:
        raise DomainError("The software catalogue belongs to a provider, not to a client organisation.")
    if actor.user is not None:
        scope = scope_for(actor)
        if scope.role != Role.ADMIN or scope.provider_id != provider.pk:
            raise PermissionDenied("Only the provider's administrators change the catalogue.")
    if not name.strip():
        raise DomainError("A catalogue item needs a name.")
    if requires_approval and approver_group is None:
        raise DomainError("An item that needs approval needs an approver group.")
    for group in (approver_group, fulfilment_group):
        if group is not None and group.organisation_id != provider.pk:
            raise DomainError(f"{group} is not one of {provider}'s groups.")
    clients = list(offered_to or [])
    if any(org.provider_id != provider.pk for org in clients):
        raise DomainError("Items are offered only to the provider's own clients.")
    item = CatalogItem.objects.create(
        organisation=provider,
        name=name.strip(),
        description=description,
        keywords=keywords,
        requires_approval=requires_approval,
        approver_group=approver_group,
        fulfilment_group=fulfilment_group,
    )
    item.offered_to.set(clients)
    record_event(
        actor=actor,
        action="catalog_item.created",
        obj=item,
        organisation_id=provider.pk,
        after={"name": item.name, "requires_approval": requires_approval, "offered_to": [o.pk for o in clients]},
    )
    return item


# --- reads --------------------------------------------------------------------------------------


def offered_to(requester: Requester) -> QuerySet[CatalogItem]:
    """Active items of the requester's provider offered to their organisation (an item with no
    organisations listed is offered to all the provider's clients)."""
    organisation = requester.organisation
    provider_id = organisation.provider_id or organisation.pk
    return (
        CatalogItem.objects.filter(organisation_id=provider_id, is_active=True)
        .filter(Q(offered_to__isnull=True) | Q(offered_to=organisation.pk))
        .select_related("approver_group", "fulfilment_group")
        .distinct()
        .order_by("name", "id")
    )


def access_catalog_item(actor: Actor, *, requester: Requester, item_id: int) -> CatalogItem:
    """An item offered to this requester, asked for by them (or by an agent serving them)."""
    scope = scope_for(actor)
    own = scope.requester_id == requester.pk
    serving = scope.is_agent_side and requester.organisation_id in scope.organisation_ids
    if actor.user is not None and not own and not serving:
        raise NotFound("No such catalogue item, or it is not offered to you.")
    item = offered_to(requester).filter(pk=item_id).first()
    if item is None:
        raise NotFound("No such catalogue item, or it is not offered to you.")
    return item


def approvals_for(actor: Actor) -> QuerySet[ServiceRequestApproval]:
    """Approvals waiting for (or decided by) the groups the actor is a member of, inside their
    provider. Everyone else sees none."""
    scope = scope_for(actor)
    if actor.user is None or not scope.is_agent_side or scope.provider_id is None:
        return ServiceRequestApproval.objects.none()
    return (
        ServiceRequestApproval.objects.filter(
            Q(organisation_id=scope.provider_id) | Q(organisation__provider_id=scope.provider_id),
            approver_group__memberships__agent=actor.user,
            approver_group__is_active=True,
        )
        .select_related("ticket", "ticket__requester", "item", "approver_group", "decided_by", "organisation")
        .distinct()
    )


def access_approval(actor: Actor, approval_id: int) -> ServiceRequestApproval:
    approval = approvals_for(actor).filter(pk=approval_id).first()
    if approval is None:
        raise NotFound("No such approval, or it is not for your group.")
    return approval


# --- writes -------------------------------------------------------------------------------------


@transaction.atomic
def request_item(
    *, actor: Actor, requester: Requester, item: CatalogItem, conversation: Conversation | None = None, note: str = ""
) -> Ticket:
    """Open a service request for a catalogue item. Without approval it goes straight to the
    fulfilment group; with approval it waits, unassigned, for the approver group."""
    item = access_catalog_item(actor, requester=requester, item_id=item.pk)
    if item.requires_approval and item.approver_group_id is None:
        raise DomainError(f"{item.name} needs approval but has no approver group; tell the service desk.")
    if conversation is not None and conversation.requester_id != requester.pk:
        raise DomainError("That conversation is someone else's.")
    note = note.strip()
    description = "\n\n".join(
        part
        for part in (
            f"Requested from the software catalogue: {item.name}.",
            item.description.strip(),
            f"Note from the requester: {note}" if note else "",
        )
        if part
    )
    ticket = tickets.open_ticket(
        actor=actor,
        requester=requester,
        title=f"Software request: {item.name}",
        description=description,
        ticket_type=TicketType.SERVICE_REQUEST,
        channel=Channel.CHAT if conversation is not None else Channel.PORTAL,
        category=item.category if item.category is not None and item.category.is_active else None,
        data={"catalog_item": item.pk, **({"conversation": conversation.pk} if conversation is not None else {})},
    )
    approval: ServiceRequestApproval | None = None
    if item.requires_approval:
        approval = ServiceRequestApproval.objects.create(
            organisation_id=ticket.organisation_id, ticket=ticket, item=item, approver_group=item.approver_group
        )
        group_name = item.approver_group.name if item.approver_group else ""
        tickets.record_system_event(
            actor=CATALOGUE,
            ticket=ticket,
            event="approval_requested",
            # "reason" is what the timelines print next to the event.
            data={"item": item.name, "approver_group": group_name, "reason": f"waiting for {group_name}"},
            is_public=True,
        )
    else:
        _route_to_fulfilment(ticket, item)
    record_event(
        actor=actor,
        action="selfservice.item_requested",
        obj=ticket,
        organisation_id=ticket.organisation_id,
        after={
            "item_id": item.pk,
            "item": item.name,
            "requires_approval": item.requires_approval,
            "approval_id": approval.pk if approval is not None else None,
            "conversation_id": conversation.pk if conversation is not None else None,
        },
    )
    if approval is not None:
        _tell_approvers_after_commit(approval, ticket)
    ticket.refresh_from_db()
    return ticket


@transaction.atomic
def decide_approval(
    *, actor: Actor, approval: ServiceRequestApproval, approve: bool, comment: str = ""
) -> ServiceRequestApproval:
    """A member of the approver group approves or rejects, once. Approval hands the ticket to
    the item's fulfilment group; rejection cancels it with the reason."""
    if actor.user is None:
        raise PermissionDenied("Only a member of the approver group may decide.")
    # The row lock makes "decided once" hold when two approvers click at the same moment.
    locked = (
        ServiceRequestApproval.objects.select_for_update(of=("self",))
        .select_related("item", "item__fulfilment_group", "approver_group", "ticket")
        .filter(pk=approval.pk)
        .first()
    )
    if locked is None:
        raise NotFound("No such approval, or it is not for your group.")
    group = locked.approver_group
    member = (
        group is not None
        and group.is_active
        and GroupMembership.objects.filter(group=group, agent=actor.user).exists()
        and scope_for(actor).provider_id == group.organisation_id
    )
    if not member:
        raise PermissionDenied(f"Only members of {group.name if group else 'the approver group'} may decide this.")
    if locked.status != ApprovalStatus.PENDING:
        who = locked.decided_by or "someone"
        raise DomainError(f"This request was already {locked.get_status_display().lower()} by {who}.")
    comment = comment.strip()
    if not approve and not comment:
        raise DomainError("Say why the request is rejected; the requester will read it.")
    ticket = locked.ticket
    if ticket.status not in (TicketStatus.NEW, TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS):
        raise DomainError(f"Ticket {ticket.number} is {ticket.get_status_display()}; there is nothing to decide.")

    locked.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
    locked.decided_by = actor.user
    locked.decided_at = clock.now()
    locked.comment = comment
    locked.save(update_fields=["status", "decided_by", "decided_at", "comment", "updated_at"])

    on_ticket = _ticket_actor(actor, ticket)
    name = actor.user.full_name or actor.user.email
    if approve:
        # The requester sees that it was approved; the note keeps who and why for the desk.
        tickets.record_system_event(
            actor=on_ticket,
            ticket=ticket,
            event="approval_granted",
            data={"approval_id": locked.pk, "reason": f"approved by {group.name if group else 'the approvers'}"},
            is_public=True,
        )
        tickets.add_note(
            actor=on_ticket,
            ticket=ticket,
            body=f"Approved by {name} for {group}." + (f"\n\n{comment}" if comment else ""),
            data={"approval_id": locked.pk},
        )
        _route_to_fulfilment(ticket, locked.item)
    else:
        tickets.transition(
            actor=on_ticket,
            ticket=ticket,
            to_status=TicketStatus.CANCELLED,
            reason=f"Not approved: {comment}",
        )
    record_event(
        actor=actor,
        action="selfservice.approval_decided",
        obj=locked,
        organisation_id=locked.organisation_id,
        before={"status": ApprovalStatus.PENDING},
        after={"status": locked.status, "ticket": ticket.number, "comment": comment},
    )
    return locked


def _route_to_fulfilment(ticket: Ticket, item: CatalogItem) -> None:
    """Hand the request to the item's fulfilment group. A group that does not serve this client
    (a catalogue set up for other clients) leaves it in the unassigned queue, with a note."""
    group = item.fulfilment_group
    if group is None:
        return
    organisation_id = ticket.organisation_id
    serves = group.is_active and (
        group.organisation_id == organisation_id or group.serves.filter(pk=organisation_id).exists()
    )
    if serves:
        tickets.assign(actor=CATALOGUE, ticket=ticket, assignee=None, support_group=group)
        return
    tickets.add_note(
        actor=CATALOGUE,
        ticket=ticket,
        body=f"{group.name} fulfils {item.name} but does not serve {ticket.organisation.name}; dispatch it by hand.",
    )


def _ticket_actor(actor: Actor, ticket: Ticket) -> Actor:
    """The approver writes on the ticket as themselves when they may see it; an approver group
    that does not serve the client (licence managers, say) writes through the catalogue."""
    if Ticket.objects.visible_to(actor).filter(pk=ticket.pk).exists():
        return actor
    return Actor(user=None, ip=actor.ip, via="system", name=f"Software catalogue (approval by {actor.label})")


def _tell_approvers_after_commit(approval: ServiceRequestApproval, ticket: Ticket) -> None:
    from tierdesk.notifications.services import notify

    recipients = list(
        GroupMembership.objects.filter(group_id=approval.approver_group_id, agent__is_active=True).values_list(
            "agent_id", flat=True
        )
    )
    subject = f"Approval needed: {ticket.number} {ticket.title}"
    transaction.on_commit(
        lambda: notify(recipient_ids=recipients, key=f"approval:{approval.pk}", subject=subject, ticket_id=ticket.pk)
    )


def waiting_for_approval(ticket: Ticket, agent: Any = None) -> str | None:
    """An assignment check and a routing hold (tickets/assignment.py): nobody works on a request
    before it is approved, whether a person or routing tries to assign it, and routing leaves it
    out of the group queues (approval hands it to the fulfilment group)."""
    if ticket.pk is None or ticket.ticket_type != TicketType.SERVICE_REQUEST:
        return None
    pending = (
        ServiceRequestApproval.objects.filter(ticket_id=ticket.pk, status=ApprovalStatus.PENDING)
        .values_list("approver_group__name", flat=True)
        .first()
    )
    if pending is None:
        return None
    return f"it is waiting for approval by {pending or 'the approver group'}"
