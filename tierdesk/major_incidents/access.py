"""Reading major incidents for a person: through tickets they may see, never around them."""

from __future__ import annotations

from dataclasses import dataclass, field

from tierdesk.accounts.models import SupportGroup
from tierdesk.accounts.scope import scope_for
from tierdesk.core.actor import Actor
from tierdesk.core.errors import NotFound
from tierdesk.major_incidents.models import MajorIncident, MajorIncidentLink, MajorIncidentUpdate
from tierdesk.tickets import workflow
from tierdesk.tickets.models import Ticket


@dataclass
class Panel:
    """What the ticket page shows about major incidents for this ticket."""

    major: MajorIncident | None = None  # the ticket is a major incident
    children: list[Ticket] = field(default_factory=list)
    links: dict[int, MajorIncidentLink] = field(default_factory=dict)  # by child ticket id
    updates: list[MajorIncidentUpdate] = field(default_factory=list)
    link: MajorIncidentLink | None = None  # the ticket is a child
    open_majors: list[MajorIncident] = field(default_factory=list)  # to attach it to
    groups: list[SupportGroup] = field(default_factory=list)  # to declare it with


def panel_for(actor: Actor, ticket: Ticket) -> Panel:
    scope = scope_for(actor)
    if not scope.is_agent_side:
        return Panel()
    major = MajorIncident.objects.filter(ticket=ticket).select_related("owner_group", "service", "item", "site").first()
    if major is not None:
        links = {link.ticket_id: link for link in MajorIncidentLink.objects.filter(major_incident=major)}
        children = list(
            Ticket.objects.visible_to(actor).filter(parent_id=ticket.pk).select_related("requester").order_by("pk")
        )
        for child in children:
            child.mi_link = links.get(child.pk)  # type: ignore[attr-defined]
        updates = list(major.updates.order_by("-created_at", "-id"))
        return Panel(major=major, children=children, links=links, updates=updates)
    link = MajorIncidentLink.objects.filter(ticket=ticket).select_related("major_incident__ticket").first()
    if link is not None or ticket.status not in workflow.OPEN:
        return Panel(link=link)
    provider_id = scope.provider_id or 0
    majors = list(
        MajorIncident.objects.open().of_provider(provider_id).select_related("ticket").order_by("-declared_at")[:20]
    )
    groups = list(SupportGroup.objects.filter(organisation_id=provider_id, is_active=True).order_by("-tier", "name"))
    return Panel(open_majors=majors, groups=groups)


def access_open_major_incident(actor: Actor, pk: int) -> MajorIncident:
    """An open major incident of the actor's provider (agents only)."""
    scope = scope_for(actor)
    major = (
        MajorIncident.objects.open().of_provider(scope.provider_id or 0).select_related("ticket").filter(pk=pk).first()
        if scope.is_agent_side
        else None
    )
    if major is None:
        raise NotFound("No such open major incident.")
    return major


def access_major_incident_of(actor: Actor, ticket: Ticket) -> MajorIncident:
    """The major incident whose record is this ticket (which the actor may already see)."""
    major = MajorIncident.objects.filter(ticket=ticket).select_related("ticket").first()
    if major is None or not scope_for(actor).is_agent_side:
        raise NotFound(f"{ticket.number} is not a major incident.")
    return major


def access_owner_group(actor: Actor, pk: int) -> SupportGroup:
    scope = scope_for(actor)
    group = SupportGroup.objects.filter(organisation_id=scope.provider_id or 0, is_active=True, pk=pk).first()
    if group is None or not scope.is_agent_side:
        raise NotFound("No such support group.")
    return group
