"""Major incidents across the NOC/helpdesk boundary: declare, correlate, communicate, resolve together.

The major incident is an incident ticket owned by the NOC group; the tickets of everyone hit by
the same outage hang under it as children (`Ticket.parent`, with a `MajorIncidentLink` saying how
they got there). One update reaches every affected requester once, by e-mail and by a portal
banner for their organisation; when the major incident resolves, by an agent or by the
monitoring alert's recovery, its children resolve with it and each requester hears once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Q

from tierdesk.accounts.models import SupportGroup
from tierdesk.accounts.scope import scope_for
from tierdesk.audit.services import record_event
from tierdesk.cmdb.services import downstream_ids
from tierdesk.core import clock, text
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError, NotFound, PermissionDenied
from tierdesk.major_incidents.models import DeclarationRule, MajorIncident, MajorIncidentLink, MajorIncidentUpdate
from tierdesk.notifications import requester_mail
from tierdesk.routing.services import alert_supervisors_on_duty
from tierdesk.tenancy import services as tenancy
from tierdesk.tenancy.models import Announcement, Organisation
from tierdesk.tickets import services as tickets
from tierdesk.tickets import workflow
from tierdesk.tickets.choices import Channel, Level, ResolutionCode, TicketStatus
from tierdesk.tickets.models import Ticket

logger = logging.getLogger(__name__)

CORRELATOR = Actor(user=None, via="system", name="Major incident correlation")
# A ticket that matches by place (service, item or site) needs this much of its wording in common
# with the major incident, or words of an outage ("down", "offline", "cannot connect").
MIN_SIMILARITY = 0.15
OUTAGE_TERMS = text.terms(
    "down outage offline unreachable unavailable disconnect disconnected dropping dropped slow timeout "
    "cannot can't unable failed failing broken dead lost internet network wifi wireless connection connect "
    "access loading load reach"
)


def _provider_id(ticket: Ticket) -> int:
    return ticket.organisation.provider_id or ticket.organisation_id


def _require_agent(actor: Actor, what: str) -> None:
    if actor.user is not None and not scope_for(actor).is_agent_side:
        raise PermissionDenied(f"Only agents may {what}.")


# --- declaring --------------------------------------------------------------------------------


@transaction.atomic
def declare(*, actor: Actor, ticket: Ticket, owner_group: SupportGroup, how: str = "") -> MajorIncident:
    """Make an open incident the major incident of an outage, owned by `owner_group` (the NOC)."""
    _require_agent(actor, "declare major incidents")
    # Lock the ticket row only: the item is an outer join, which PostgreSQL will not lock.
    ticket = (
        Ticket.objects.select_for_update(of=("self",)).select_related("organisation", "affected_item").get(pk=ticket.pk)
    )
    if actor.user is not None and not Ticket.objects.visible_to(actor).filter(pk=ticket.pk).exists():
        raise NotFound("No such ticket, or you may not see it.")
    if ticket.status in workflow.TERMINAL or ticket.status == TicketStatus.RESOLVED:
        raise DomainError(f"{ticket.number} is {ticket.get_status_display().lower()}; declare on an open incident.")
    if MajorIncident.objects.filter(ticket=ticket).exists():
        raise DomainError(f"{ticket.number} is already a major incident.")
    if MajorIncidentLink.objects.filter(ticket=ticket).exists():
        raise DomainError(f"{ticket.number} is part of a major incident; detach it first.")
    provider_id = _provider_id(ticket)
    if owner_group.organisation_id != provider_id:
        raise DomainError("The owner group must be one of the provider's groups.")
    item = ticket.affected_item
    now = clock.now()
    major = MajorIncident.objects.create(
        organisation_id=provider_id,
        ticket=ticket,
        owner_group=owner_group,
        service_id=ticket.affected_service_id or _first_service_id(item),
        item=item,
        site_id=ticket.site_id or (item.site_id if item else None),
        declared_by=actor.user,
        declared_how=(how or (f"by {actor.label}" if actor.user else "by a rule"))[:200],
        declared_at=now,
        last_activity_at=now,
    )
    changes = tickets.TicketChanges(impact=Level.HIGH, urgency=Level.HIGH)
    if owner_group.serves.filter(pk=ticket.organisation_id).exists() or owner_group.organisation_id == (
        ticket.organisation_id
    ):
        changes = tickets.TicketChanges(impact=Level.HIGH, urgency=Level.HIGH, support_group=owner_group, assignee=None)
    tickets.update_ticket(actor=Actor.system("system"), ticket=ticket, changes=changes, expected_version=None)
    tickets.record_system_event(
        actor=actor,
        ticket=ticket,
        event="major_incident_declared",
        data={"owner_group": owner_group.name, "how": major.declared_how},
        is_public=True,
    )
    record_event(
        actor=actor,
        action="major_incident.declared",
        obj=major,
        organisation_id=provider_id,
        after={"ticket": ticket.number, "owner_group_id": owner_group.pk, "how": major.declared_how},
    )
    alert_supervisors_on_duty(ticket, why="Major incident declared")
    return major


def _first_service_id(item: object) -> int | None:
    if item is None:
        return None
    return item.services.order_by("pk").values_list("pk", flat=True).first()  # type: ignore[attr-defined]


def apply_declaration_rules(ticket_id: int) -> MajorIncident | None:
    """Run after a ticket opened (and was not linked to an open major incident): declare one when a rule says so."""
    ticket = (
        Ticket.objects.select_related("organisation", "affected_item", "affected_service").filter(pk=ticket_id).first()
    )
    if ticket is None or ticket.status not in workflow.OPEN or ticket.parent_id is not None:
        return None
    if MajorIncident.objects.filter(ticket=ticket).exists():
        return None
    provider_id = _provider_id(ticket)
    for rule in DeclarationRule.objects.filter(organisation_id=provider_id, is_active=True).select_related(
        "owner_group"
    ):
        if rule.kind == DeclarationRule.Kind.CRITICAL_ALERT_ON_CORE:
            core = (ticket.affected_item is not None and ticket.affected_item.is_core) or (
                ticket.affected_service is not None and ticket.affected_service.is_core
            )
            if ticket.channel == Channel.MONITORING and ticket.priority == 1 and core:
                return declare(
                    actor=Actor.system("system"), ticket=ticket, owner_group=rule.owner_group, how=f"rule: {rule.name}"
                )
        elif rule.kind == DeclarationRule.Kind.TICKET_BURST:
            major = _burst(ticket, rule, provider_id)
            if major is not None:
                return major
    return None


def _burst(ticket: Ticket, rule: DeclarationRule, provider_id: int) -> MajorIncident | None:
    if ticket.affected_service_id is None and ticket.site_id is None:
        return None
    since = clock.now() - timedelta(minutes=rule.window_minutes)
    same_place = Q()
    if ticket.affected_service_id is not None:
        same_place |= Q(affected_service_id=ticket.affected_service_id)
    if ticket.site_id is not None:
        same_place |= Q(site_id=ticket.site_id)
    burst = list(
        Ticket.objects.filter(same_place, created_at__gte=since, status__in=workflow.OPEN, parent__isnull=True)
        .filter(Q(organisation_id=provider_id) | Q(organisation__provider_id=provider_id))
        .exclude(major_incident__isnull=False)
        .order_by("created_at", "pk")
    )
    if len(burst) < rule.threshold:
        return None
    # The monitoring alert's incident leads when there is one; else the first user's ticket.
    lead = next((t for t in burst if t.channel == Channel.MONITORING), burst[0])
    with transaction.atomic():
        major = declare(
            actor=Actor.system("system"), ticket=lead, owner_group=rule.owner_group, how=f"rule: {rule.name}"
        )
    for other in burst:
        if other.pk != lead.pk:
            correlate(other.pk)
    return major


# --- correlation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    major: MajorIncident
    score: float
    reason: str


def candidates_for(ticket: Ticket) -> list[Match]:
    """Open major incidents of the ticket's provider that it plausibly belongs to, best first."""
    provider_id = _provider_id(ticket)
    place = Q()
    if ticket.affected_service_id:
        place |= Q(service_id=ticket.affected_service_id)
    if ticket.site_id:
        place |= Q(site_id=ticket.site_id)
    if ticket.affected_item_id:
        place |= Q(item_id=ticket.affected_item_id)
    if not place:
        return []
    horizon = ticket.created_at - timedelta(days=2)  # the largest window anyone sets; refined below
    majors = (
        MajorIncident.objects.open()
        .of_provider(provider_id)
        .filter(place, last_activity_at__gte=horizon)
        # A child hangs under a ticket of its own organisation or of the provider (Ticket.parent's rule).
        .filter(Q(ticket__organisation_id=ticket.organisation_id) | Q(ticket__organisation_id=provider_id))
        .exclude(ticket_id=ticket.pk)
        .select_related("ticket", "service", "item", "site")
    )
    words = text.terms(f"{ticket.title} {ticket.description}")
    matches: list[Match] = []
    for major in majors:
        if ticket.created_at - major.last_activity_at > timedelta(minutes=major.correlation_minutes):
            continue
        reasons = []
        if ticket.affected_service_id and ticket.affected_service_id == major.service_id:
            reasons.append(f"service {major.service}")
        if ticket.affected_item_id and major.item_id and ticket.affected_item_id in downstream_ids([major.item_id]):
            reasons.append(f"item {major.item}")
        if ticket.site_id and ticket.site_id == major.site_id:
            reasons.append(f"site {major.site}")
        if not reasons:
            continue
        similarity = text.overlap(words, _profile(major))
        outage = bool(words & OUTAGE_TERMS)
        if similarity < MIN_SIMILARITY and not outage:
            continue
        score = round(0.5 + similarity + (0.1 * (len(reasons) - 1)), 3)
        wording = f"{similarity:.0%} of its words" + (", outage words" if outage else "")
        matches.append(Match(major, score, f"same {' and '.join(reasons)}; {wording}"))
    return sorted(matches, key=lambda m: -m.score)


def _profile(major: MajorIncident) -> set[str]:
    """The major incident's vocabulary: its ticket, its place and the titles of the tickets already under it."""
    parts = [major.ticket.title, major.ticket.description[:2000]]
    parts += [str(x) for x in (major.service, major.item, major.site) if x is not None]
    parts += list(Ticket.objects.filter(parent_id=major.ticket_id).order_by("-pk").values_list("title", flat=True)[:50])
    return text.terms(" ".join(parts))


def correlate(ticket_id: int) -> MajorIncidentLink | None:
    """Link a new ticket to the open major incident it belongs to, if any (run after it opened)."""
    ticket = Ticket.objects.select_related("organisation").filter(pk=ticket_id).first()
    if ticket is None or ticket.status not in workflow.OPEN or ticket.parent_id is not None:
        return None
    if MajorIncident.objects.filter(ticket=ticket).exists() or MajorIncidentLink.objects.filter(ticket=ticket).exists():
        return None
    matches = candidates_for(ticket)
    if not matches:
        return None
    best = matches[0]
    return _link(CORRELATOR, ticket, best.major, MajorIncidentLink.How.AUTOMATIC, best.score, best.reason)


@transaction.atomic
def _link(
    actor: Actor, ticket: Ticket, major: MajorIncident, how: str, score: float | None, reason: str
) -> MajorIncidentLink:
    major = MajorIncident.objects.select_for_update().select_related("ticket").get(pk=major.pk)
    if major.status == MajorIncident.Status.RESOLVED:
        raise DomainError(f"Major incident {major.ticket.number} is resolved.")
    if ticket.pk == major.ticket_id:
        raise DomainError("A major incident cannot be its own child.")
    if ticket.organisation.root_provider_id != major.organisation_id:
        raise NotFound("No such major incident.")
    if MajorIncidentLink.objects.filter(ticket=ticket).exists():
        raise DomainError(f"{ticket.number} is already part of a major incident.")
    tickets.update_ticket(
        actor=actor, ticket=ticket, changes=tickets.TicketChanges(parent=major.ticket), expected_version=None
    )
    link = MajorIncidentLink.objects.create(
        organisation_id=ticket.organisation_id,
        major_incident=major,
        ticket=ticket,
        how=how,
        score=score,
        reason=reason[:300],
        confirmed_by=actor.user if how == MajorIncidentLink.How.BY_AGENT else None,
        confirmed_at=clock.now() if how == MajorIncidentLink.How.BY_AGENT else None,
    )
    MajorIncident.objects.filter(pk=major.pk).update(last_activity_at=clock.now())
    tickets.record_system_event(
        actor=actor,
        ticket=ticket,
        event="linked_to_major_incident",
        data={"major_incident": major.ticket.number, "how": how, "reason": reason[:300]},
        is_public=True,
    )
    return link


def attach(*, actor: Actor, ticket: Ticket, major: MajorIncident) -> MajorIncidentLink:
    """An agent puts a ticket under a major incident by hand."""
    _require_agent(actor, "attach tickets to major incidents")
    return _link(actor, ticket, major, MajorIncidentLink.How.BY_AGENT, None, f"attached by {actor.label}")


@transaction.atomic
def confirm(*, actor: Actor, ticket: Ticket) -> MajorIncidentLink:
    """An agent confirms an automatic link."""
    _require_agent(actor, "confirm major incident links")
    link = MajorIncidentLink.objects.select_for_update().filter(ticket=ticket).first()
    if link is None:
        raise NotFound(f"{ticket.number} is not part of a major incident.")
    link.confirmed_by, link.confirmed_at = actor.user, clock.now()
    link.save(update_fields=["confirmed_by", "confirmed_at"])
    record_event(actor=actor, action="major_incident.link_confirmed", obj=link, organisation_id=link.organisation_id)
    return link


@transaction.atomic
def detach(*, actor: Actor, ticket: Ticket) -> Ticket:
    """A child with a different problem leaves the major incident and stays open on its own."""
    _require_agent(actor, "detach tickets from major incidents")
    link = (
        MajorIncidentLink.objects.select_for_update()
        .select_related("major_incident__ticket")
        .filter(ticket=ticket)
        .first()
    )
    if link is None:
        raise NotFound(f"{ticket.number} is not part of a major incident.")
    number = link.major_incident.ticket.number
    link.delete()
    ticket = tickets.update_ticket(
        actor=actor, ticket=ticket, changes=tickets.TicketChanges(parent=None), expected_version=None
    )
    tickets.record_system_event(
        actor=actor, ticket=ticket, event="detached_from_major_incident", data={"major_incident": number}
    )
    return ticket


# --- communication ----------------------------------------------------------------------------


@transaction.atomic
def post_update(*, actor: Actor, major: MajorIncident, body: str, status: str | None = None) -> MajorIncidentUpdate:
    """One message to everyone affected: each requester of a child ticket once by e-mail (about their
    own ticket, so a reply threads there), and a banner in each affected organisation's portal."""
    _require_agent(actor, "post major incident updates")
    if not body.strip():
        raise DomainError("An update needs some text.")
    major = MajorIncident.objects.select_for_update().select_related("ticket").get(pk=major.pk)
    if major.status == MajorIncident.Status.RESOLVED:
        raise DomainError("The major incident is resolved; its children have been told.")
    if status is not None:
        if status not in MajorIncident.Status.values or status == MajorIncident.Status.RESOLVED:
            raise DomainError("Resolve the major incident to set it resolved.")
        major.status = status
    now = clock.now()
    children = list(
        Ticket.objects.filter(parent_id=major.ticket_id)
        .exclude(status__in=workflow.TERMINAL)
        .select_related("requester", "organisation")
        .order_by("pk")
    )
    update = MajorIncidentUpdate.objects.create(
        organisation_id=major.organisation_id,
        major_incident=major,
        status=major.status,
        body=body.strip(),
        author=actor.user,
        author_label=actor.label[:200],
    )
    first_ticket_of: dict[int, Ticket] = {}
    for child in children:
        first_ticket_of.setdefault(child.requester_id, child)
    mailed = 0
    for child in first_ticket_of.values():
        queued = requester_mail.mail_major_incident_update(
            ticket=child,
            update_id=update.pk,
            major=major.ticket,
            status_label=update.get_status_display(),
            body=update.body,
        )
        mailed += queued is not None
    organisations = {child.organisation_id for child in children}
    if not major.ticket.organisation.is_provider:
        organisations.add(major.ticket.organisation_id)
    _replace_banners(actor, major, organisations, update)
    update.requesters_mailed, update.organisations_told = mailed, len(organisations)
    update.save(update_fields=["requesters_mailed", "organisations_told"])
    major.last_activity_at = now
    major.save(update_fields=["status", "last_activity_at"])
    tickets.record_system_event(
        actor=actor,
        ticket=major.ticket,
        event="major_incident_update",
        data={"status": major.status, "requesters": mailed, "organisations": len(organisations), "text": body[:500]},
        is_public=True,
    )
    record_event(
        actor=actor,
        action="major_incident.update_posted",
        obj=major,
        organisation_id=major.organisation_id,
        after={"update_id": update.pk, "requesters_mailed": mailed, "organisations": sorted(organisations)},
    )
    return update


def _replace_banners(
    actor: Actor, major: MajorIncident, organisation_ids: set[int], update: MajorIncidentUpdate
) -> None:
    for banner in major.announcements.all():
        tenancy.end_announcement(actor=actor, announcement=banner)
    major.announcements.clear()
    title = f"Major incident: {major.ticket.title}"[:200]
    body = f"{update.get_status_display()}. {update.body}"
    for organisation in Organisation.objects.filter(pk__in=organisation_ids).order_by("pk"):
        banner = tenancy.post_announcement(
            actor=actor, organisation=organisation, title=title, body=body, severity=Announcement.Severity.OUTAGE
        )
        major.announcements.add(banner)


# --- resolving ----------------------------------------------------------------------------------


@transaction.atomic
def resolve(*, actor: Actor, major: MajorIncident, notes: str) -> MajorIncident:
    """Resolve the major incident's ticket; its children follow (see `resolve_children`)."""
    _require_agent(actor, "resolve major incidents")
    tickets.transition(
        actor=actor,
        ticket=major.ticket,
        to_status=TicketStatus.RESOLVED,
        resolution_code=ResolutionCode.FIXED,
        resolution_notes=notes,
    )
    return resolve_children(major.pk) or major


@transaction.atomic
def resolve_children(major_id: int) -> MajorIncident | None:
    """The major incident's ticket is resolved (by an agent or by the monitoring recovery): resolve every
    child still open, end the banners. Idempotent: run again, it finds nothing left to do."""
    major = MajorIncident.objects.select_for_update().select_related("ticket").filter(pk=major_id).first()
    if major is None or major.ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        return None
    actor = Actor(user=None, via="system", name=f"Major incident {major.ticket.number}")
    notes = major.ticket.resolution_notes or "The outage is over."
    for child in Ticket.objects.filter(parent_id=major.ticket_id, status__in=workflow.OPEN).order_by("pk"):
        tickets.transition(
            actor=actor,
            ticket=child,
            to_status=TicketStatus.RESOLVED,
            resolution_code=ResolutionCode.FIXED,
            resolution_notes=f"Resolved with major incident {major.ticket.number}: {notes}",
        )
    if major.status != MajorIncident.Status.RESOLVED:
        for banner in major.announcements.all():
            tenancy.end_announcement(actor=actor, announcement=banner)
        major.announcements.clear()
        major.status, major.resolved_at = MajorIncident.Status.RESOLVED, clock.now()
        major.save(update_fields=["status", "resolved_at"])
        record_event(
            actor=actor, action="major_incident.resolved", obj=major, organisation_id=major.organisation_id, after={}
        )
    return major


def reopened(major_id: int) -> None:
    """The major incident's ticket was reopened (the outage came back): it is open again."""
    MajorIncident.objects.filter(pk=major_id, status=MajorIncident.Status.RESOLVED).update(
        status=MajorIncident.Status.INVESTIGATING, resolved_at=None, last_activity_at=clock.now()
    )


# --- configuration ------------------------------------------------------------------------------


@transaction.atomic
def create_declaration_rule(
    *,
    actor: Actor,
    provider: Organisation,
    name: str,
    kind: str,
    owner_group: SupportGroup,
    threshold: int = 10,
    window_minutes: int = 15,
) -> DeclarationRule:
    if kind not in DeclarationRule.Kind.values:
        raise DomainError(f"Unknown kind of rule {kind!r}.")
    if owner_group.organisation_id != provider.pk:
        raise DomainError("The owner group must be one of the provider's groups.")
    if threshold < 2 or window_minutes < 1:
        raise DomainError("A burst needs at least 2 tickets within at least a minute.")
    rule = DeclarationRule.objects.create(
        organisation=provider,
        name=name.strip(),
        kind=kind,
        owner_group=owner_group,
        threshold=threshold,
        window_minutes=window_minutes,
    )
    record_event(
        actor=actor,
        action="declaration_rule.created",
        obj=rule,
        organisation_id=provider.pk,
        after={"name": rule.name, "kind": kind, "threshold": threshold, "window_minutes": window_minutes},
    )
    return rule
