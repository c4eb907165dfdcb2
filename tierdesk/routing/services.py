"""Routing: classify a new ticket, send it to the right group and tier, pick the agent, escalate.

Every change to a ticket goes through the ticket services as the system actor "routing" (or
the agent who escalates), so the timeline, history, audit chain and SLA clocks follow.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Case, Count, IntegerField, Sum, Value, When

from tierdesk.accounts.choices import AssignmentStrategy, Role, TrainingRegime
from tierdesk.accounts.models import AgentProfile, GroupMembership, Skill, SupportGroup, User
from tierdesk.accounts.scope import scope_for
from tierdesk.audit.services import record_event
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError, IllegalTransition, NotFound, PermissionDenied, StaleVersion
from tierdesk.routing import classifiers, eligibility
from tierdesk.routing.eligibility import LOAD_WEIGHT, on_shift
from tierdesk.routing.events import announce_alert, engineering_handoff, vendor_handoff
from tierdesk.routing.models import (
    AgentShift,
    ClassificationRule,
    EngineeringLink,
    EngineeringTracker,
    RegulatedScope,
    RoutingEntry,
    VendorContact,
    VendorEscalation,
)
from tierdesk.sla import services as sla
from tierdesk.sla.models import BusinessCalendar, EscalationRequest
from tierdesk.tenancy.models import Organisation
from tierdesk.tickets import assignment, workflow
from tierdesk.tickets import services as tickets
from tierdesk.tickets.choices import Level, TicketStatus, TicketType
from tierdesk.tickets.models import Category, Ticket
from tierdesk.tickets.services import TicketChanges

logger = logging.getLogger(__name__)

ROUTING = Actor.system(via="routing")


def _provider_id(ticket: Ticket) -> int:
    return ticket.organisation.provider_id or ticket.organisation_id


# --- classification ----------------------------------------------------------------------------


@dataclass
class Classification:
    changes: dict[str, Any] = field(default_factory=dict)  # field -> value
    skills: list[int] = field(default_factory=list)
    decided_by: dict[str, str] = field(default_factory=dict)  # field -> rule name (or classifier model)


def _matches(rule: ClassificationRule, ticket: Ticket) -> bool:
    if rule.client_organisation_id and rule.client_organisation_id != ticket.organisation_id:
        return False
    if rule.site_id and rule.site_id != ticket.site_id:
        return False
    if rule.channel and rule.channel != ticket.channel:
        return False
    text = f"{ticket.title}\n{ticket.description}"
    keywords = rule.keyword_list
    if keywords and not any(k in text.lower() for k in keywords):
        return False
    if rule.pattern:
        try:
            if re.search(rule.pattern, text, flags=re.IGNORECASE) is None:
                return False
        except re.error:
            logger.warning("classification rule %s has an invalid pattern; skipped", rule.pk)
            return False
    return True


def decide(ticket: Ticket, rules: list[ClassificationRule]) -> Classification:
    """What the rules (then the classifier, for what they left open) decide for this ticket. Pure."""
    result = Classification()
    for rule in rules:
        if not _matches(rule, ticket):
            continue
        effects: dict[str, Any] = {
            "category_id": rule.set_category_id,
            "impact": rule.set_impact or None,
            "urgency": rule.set_urgency or None,
        }
        for name, value in effects.items():
            if value is not None and name not in result.changes:
                result.changes[name] = value
                result.decided_by[name] = rule.name
        if (
            rule.set_ticket_type
            and rule.set_ticket_type == ticket.ticket_type
            and "ticket_type" not in result.decided_by
        ):
            result.decided_by["ticket_type"] = rule.name  # applied when the ticket was numbered
        skills = [s.pk for s in rule.set_skills.all()]
        if skills and not result.skills:
            result.skills = skills
            result.decided_by["required_skills"] = rule.name
        if rule.stop:
            break
    suggestion = (classifier := classifiers.configured()) and classifier.suggest(ticket)
    for name, value in classifiers.combine(result.changes, suggestion or None).items():
        result.changes[name] = value
        result.decided_by[name] = f"classifier {suggestion.model if suggestion else ''}".strip()
    return result


def ticket_type_for(ticket: Ticket) -> str | None:
    """The type the first matching rule gives a new, not yet numbered ticket (None: no rule says)."""
    provider_id = ticket.organisation.provider_id or ticket.organisation_id
    rules = ClassificationRule.objects.filter(organisation_id=provider_id, is_active=True).exclude(set_ticket_type="")
    for rule in rules:
        if _matches(rule, ticket):
            return rule.set_ticket_type
    return None


def classify(ticket: Ticket) -> Classification:
    """Apply the provider's classification rules to a ticket and record who decided what."""
    rules = list(
        ClassificationRule.objects.filter(organisation_id=_provider_id(ticket), is_active=True).prefetch_related(
            "set_skills"
        )
    )
    result = decide(ticket, rules)
    changes: dict[str, Any] = {}
    if "category_id" in result.changes:
        changes["category"] = Category.objects.get(pk=result.changes["category_id"])
    for level in ("impact", "urgency"):
        if level in result.changes:
            changes[level] = result.changes[level]
    if changes:
        ticket = tickets.update_ticket(
            actor=ROUTING,
            ticket=ticket,
            changes=TicketChanges(**changes),
            expected_version=None,
        )
    if result.skills:
        tickets.set_required_skills(actor=ROUTING, ticket=ticket, skills=Skill.objects.filter(pk__in=result.skills))
    if result.decided_by:
        tickets.record_system_event(
            actor=ROUTING, ticket=ticket, event="classified", data={"decided_by": result.decided_by}
        )
    return result


# --- the routing table ---------------------------------------------------------------------------


def _specificity(entry: RoutingEntry, ticket_path: str) -> int | None:
    """How well an entry fits (higher is better), or None when it does not apply."""
    score = 0
    if entry.category_id is not None:
        path = entry.category.path if entry.category else ""
        if not (ticket_path == path or ticket_path.startswith(path + " / ")):
            return None
        score += 10 * (path.count(" / ") + 1)
    if entry.client_organisation_id is not None:
        score += 1000
    return score


def entry_group(ticket: Ticket, tier: int | None = None) -> SupportGroup | None:
    """The support group the routing table names for this ticket (at this tier, if given)."""
    entries = RoutingEntry.objects.filter(organisation_id=_provider_id(ticket), support_group__is_active=True)
    entries = entries.filter(client_organisation__isnull=True) | entries.filter(
        client_organisation_id=ticket.organisation_id
    )
    if tier is not None:
        entries = entries.filter(support_group__tier=tier)
    path = ticket.category.path if ticket.category_id and ticket.category else ""
    best: tuple[int, int, SupportGroup] | None = None
    for entry in entries.select_related("category", "support_group"):
        score = _specificity(entry, path)
        if score is None:
            continue
        # Among equally specific entries the lower tier wins (first contact first), then the older entry.
        key = (score, -entry.support_group.tier)
        if best is None or key > best[:2]:
            best = (*key, entry.support_group)
    return best[2] if best is not None else None


def _serving_group(ticket: Ticket, tier: int, named: SupportGroup | None = None) -> SupportGroup | None:
    """The routing table's group at that tier (`named` when the caller already looked it up),
    if it serves the client; else any active group at that tier that does."""
    group = named or entry_group(ticket, tier)
    if group is not None and (
        group.organisation_id == ticket.organisation_id or group.serves.filter(pk=ticket.organisation_id).exists()
    ):
        return group
    return (
        SupportGroup.objects.filter(
            organisation_id=_provider_id(ticket), tier=tier, is_active=True, serves=ticket.organisation_id
        )
        .order_by("name")
        .first()
    )


# --- choosing the agent ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    agent: User
    membership: GroupMembership
    load: int  # open tickets weighted by priority
    open_count: int
    skill_matches: int
    speaks_language: bool


def _candidates(group: SupportGroup, ticket: Ticket) -> tuple[list[Candidate], dict[str, str]]:
    """The group's members who may take the ticket, and why each of the others may not."""
    members = list(
        GroupMembership.objects.filter(group=group, agent__is_active=True)
        .select_related("agent", "agent__agent_profile")
        .prefetch_related("agent__agent_profile__skills")
        .order_by("agent_id")
    )
    weight = Case(
        *(When(priority=p, then=Value(w)) for p, w in LOAD_WEIGHT.items()),
        default=Value(1),
        output_field=IntegerField(),
    )
    loads = {
        row["assignee"]: row
        for row in Ticket.objects.filter(assignee__in=[m.agent_id for m in members], status__in=workflow.OPEN)
        .exclude(pk=ticket.pk)
        .values("assignee")
        .annotate(load=Sum(weight), count=Count("pk"))
    }
    required = set(ticket.required_skills.values_list("pk", flat=True)) if ticket.pk else set()
    language = ticket.requester.language if ticket.requester_id else ""
    eligible: list[Candidate] = []
    refused: dict[str, str] = {}
    with eligibility.preloaded(ticket, [m.agent for m in members]):  # a few queries, not a few per member
        reasons_of = {m.agent_id: assignment.refusals(ticket, m.agent) for m in members}
    for membership in members:
        agent = membership.agent
        reasons = reasons_of[agent.pk]
        if reasons:
            refused[str(agent)] = "; ".join(reasons)
            continue
        profile = getattr(agent, "agent_profile", None)
        skills = {s.pk for s in profile.skills.all()} if profile else set()
        row = loads.get(agent.pk, {})
        eligible.append(
            Candidate(
                agent=agent,
                membership=membership,
                load=int(row.get("load") or 0),
                open_count=int(row.get("count") or 0),
                skill_matches=len(required & skills),
                speaks_language=bool(profile and language and language in (profile.languages or [])),
            )
        )
    if group.assignment_strategy == AssignmentStrategy.SKILLS and required:
        lacking = [c for c in eligible if c.skill_matches < len(required)]
        for c in lacking:
            refused[str(c.agent)] = f"{c.agent} lacks a required skill"
        eligible = [c for c in eligible if c.skill_matches == len(required)]
    return eligible, refused


def _never(at: datetime | None) -> tuple[int, float]:
    return (0, 0.0) if at is None else (1, at.timestamp())


def choose(strategy: str, candidates: list[Candidate]) -> Candidate | None:
    """The agent the group's strategy picks among eligible candidates. Pure."""
    if not candidates or strategy == AssignmentStrategy.MANUAL:
        return None

    def key(c: Candidate) -> tuple[Any, ...]:
        fairness = (*_never(c.membership.last_assigned_at), c.agent.pk)
        if strategy == AssignmentStrategy.ROUND_ROBIN:
            return fairness
        if strategy == AssignmentStrategy.LEAST_LOADED:
            return (c.load, *fairness)
        # Skills: every required skill is a given here; prefer the requester's language, then the least loaded.
        return (not c.speaks_language, c.load, *fairness)

    return min(candidates, key=key)


@dataclass(frozen=True)
class AssignmentOutcome:
    agent: User | None
    refused: dict[str, str]


@transaction.atomic
def auto_assign(ticket_id: int) -> AssignmentOutcome:
    """Give an unassigned ticket to an eligible member of its group, by the group's strategy.

    The group's memberships are locked first, so concurrent assignments into one group see
    each other's choices: nobody goes over capacity and the load stays even. Then the members'
    profiles, so that an assignment into another group sharing an agent waits too, rather than
    fill that agent's last slot at the same moment (both locks in primary-key order). When nobody
    is eligible the ticket waits in the group queue and the group's leads are told; it is never
    given to an ineligible agent.
    """
    ticket = Ticket.objects.select_related("organisation", "support_group", "requester").get(pk=ticket_id)
    group = ticket.support_group
    if group is None or ticket.assignee_id is not None or ticket.status not in workflow.OPEN:
        return AssignmentOutcome(None, {})
    if group.assignment_strategy == AssignmentStrategy.MANUAL:
        return AssignmentOutcome(None, {})
    memberships = GroupMembership.objects.select_for_update().filter(group=group).order_by("pk")
    agent_ids = list(memberships.values_list("agent_id", flat=True))
    list(AgentProfile.objects.select_for_update().filter(user_id__in=agent_ids).order_by("pk").values_list("pk"))
    ticket.refresh_from_db()
    if ticket.assignee_id is not None:
        return AssignmentOutcome(None, {})  # someone assigned it while we waited for the lock
    candidates, refused = _candidates(group, ticket)
    chosen = choose(group.assignment_strategy, candidates)
    if chosen is None:
        tickets.record_system_event(
            actor=ROUTING,
            ticket=ticket,
            event="waiting_for_agent",
            data={"group": group.name, "reasons": refused or {"": "the group has no members"}},
        )
        leads = list(
            GroupMembership.objects.filter(group=group, is_lead=True, agent__is_active=True).values_list(
                "agent_id", flat=True
            )
        )
        announce_alert(
            ticket.pk,
            leads,
            key=f"waiting:{ticket.pk}:{group.pk}",
            subject=f"{ticket.number} waits in {group.name}: nobody eligible is available",
        )
        return AssignmentOutcome(None, refused)
    tickets.assign(actor=ROUTING, ticket=ticket, assignee=chosen.agent)
    GroupMembership.objects.filter(pk=chosen.membership.pk).update(last_assigned_at=clock.now())
    return AssignmentOutcome(chosen.agent, refused)


# --- intake ---------------------------------------------------------------------------------------


def route_new_ticket(ticket_id: int) -> None:
    """A new ticket: classify it, send it to its entry group, pick the agent, tell the supervisors of a P1."""
    ticket = Ticket.objects.select_related("organisation", "category").filter(pk=ticket_id).first()
    if ticket is None or ticket.status not in workflow.OPEN:
        return
    with transaction.atomic():
        classify(ticket)
        ticket = Ticket.objects.select_related("organisation", "category").get(pk=ticket_id)
        if ticket.support_group_id is None and not assignment.holds(ticket):
            # Only a configured routing table places tickets; without an entry the ticket stays
            # in the unassigned queue for the desk to dispatch, as before routing existed.
            # A held ticket (e.g. a request waiting for approval) is placed when the hold ends.
            entry = entry_group(ticket)
            group = _serving_group(ticket, entry.tier, named=entry) if entry is not None else None
            if group is not None:
                tickets.assign(actor=ROUTING, ticket=ticket, assignee=None, support_group=group)
        ticket = Ticket.objects.select_related("organisation").get(pk=ticket_id)
        if ticket.priority == 1:
            alert_supervisors_on_duty(ticket, why="P1 opened")
    auto_assign(ticket_id)


def alert_if_p1(ticket_id: int) -> list[int]:
    """A ticket raised to P1 reaches the supervisors on duty once (the key keeps it to one)."""
    ticket = Ticket.objects.select_related("organisation").filter(pk=ticket_id).first()
    if ticket is None or ticket.priority != 1 or ticket.status not in workflow.OPEN:
        return []
    with transaction.atomic():
        return alert_supervisors_on_duty(ticket, why="P1 opened")


def alert_supervisors_on_duty(ticket: Ticket, *, why: str) -> list[int]:
    """Hierarchical escalation: the provider's supervisors who are available and on shift now."""
    supervisors = User.objects.agents_of(_provider_id(ticket)).filter(role=Role.SUPERVISOR)
    on_duty = [
        s.pk
        for s in supervisors.select_related("agent_profile")
        if (getattr(s, "agent_profile", None) is None or s.agent_profile.availability == "available") and on_shift(s)
    ]
    announce_alert(ticket.pk, on_duty, key=f"duty:{why}:{ticket.pk}", subject=f"{why}: {ticket.number} {ticket.title}")
    return on_duty


# --- escalation -----------------------------------------------------------------------------------


def _ticket_to_move(actor: Actor, ticket: Ticket, expected_version: int | None, what: str) -> Ticket:
    """The ticket an agent moves (tier, vendor, engineering): agents only, inside their scope,
    re-read under a row lock and, when the caller says which version they saw, at that version."""
    if actor.user is not None and not scope_for(actor).is_agent_side:
        raise PermissionDenied(f"Only agents may {what}.")
    visible = Ticket.objects.visible_to(actor) if actor.user is not None else Ticket.objects.all()
    found = (
        visible.select_related("organisation", "category", "support_group")
        .select_for_update(of=("self",))
        .filter(pk=ticket.pk)
        .first()
    )
    if found is None:
        raise NotFound("No such ticket, or you may not see it.")
    if expected_version is not None and found.version != expected_version:
        raise StaleVersion(
            f"Ticket {found.number} was changed by someone else (version {found.version}, "
            f"you had {expected_version}); reload it and try again.",
            found.version,
        )
    return found


@transaction.atomic
def escalate(
    *,
    actor: Actor,
    ticket: Ticket,
    to_tier: int,
    note: str,
    group: SupportGroup | None = None,
    expected_version: int | None = None,
) -> Ticket:
    """Move a ticket up (escalate) or down (de-escalate) a tier, with the reason on the timeline.

    An agent must say what was tried (escalating) or why it goes back (de-escalating). The
    target group is the routing table's for that tier, else a group at that tier serving the
    client; the ticket leaves its assignee and is assigned in the new group by its strategy.
    """
    ticket = _ticket_to_move(actor, ticket, expected_version, "escalate tickets")
    if to_tier not in (1, 2, 3, 4):
        raise DomainError("Tier must be 1, 2, 3 or 4.")
    if to_tier == ticket.tier:
        raise DomainError(f"{ticket.number} is already at Tier {to_tier}.")
    if not note.strip():
        what = "what was tried" if to_tier > ticket.tier else "why it goes back"
        raise DomainError(f"Say {what}: a note is required to move a ticket to another tier.")
    target = group or _serving_group(ticket, to_tier)
    if target is None:
        raise DomainError(f"No Tier {to_tier} group serves {ticket.organisation.name}.")
    if target.tier != to_tier:
        raise DomainError(f"{target.name} works at Tier {target.tier}, not Tier {to_tier}.")
    from_tier = ticket.tier
    direction = "escalated" if to_tier > from_tier else "de_escalated"
    tickets.add_note(
        actor=actor,
        ticket=ticket,
        body=f"{'Escalation' if to_tier > from_tier else 'De-escalation'} to Tier {to_tier}: {note.strip()}",
    )
    ticket = tickets.update_ticket(
        actor=actor,
        ticket=ticket,
        changes=TicketChanges(support_group=target, tier=to_tier, assignee=None),
        expected_version=None,
    )
    tickets.record_system_event(
        actor=actor,
        ticket=ticket,
        event=direction,
        data={"from_tier": from_tier, "to_tier": to_tier, "group": target.name, "reason": note.strip()[:500]},
    )
    transaction.on_commit(lambda: _assign_later(ticket.pk))
    return ticket


def _assign_later(ticket_id: int) -> None:
    from tierdesk.routing.tasks import assign_ticket

    assign_ticket.delay(ticket_id)


def carry_out_escalation_request(request_id: int) -> EscalationRequest | None:
    """The SLA engine asked for the next tier (a tier target breached): escalate, or decline with why."""
    request = EscalationRequest.objects.select_related("ticket").filter(pk=request_id).first()
    if request is None or request.state != EscalationRequest.State.OPEN:
        return request
    ticket = request.ticket
    if ticket.status not in workflow.OPEN or ticket.tier != request.from_tier:
        return sla.close_escalation_request(request_id=request_id, done=False, note="the ticket moved on meanwhile")
    try:
        escalate(actor=ROUTING, ticket=ticket, to_tier=request.to_tier, note=request.reason)
    except DomainError as exc:
        tickets.record_system_event(
            actor=ROUTING, ticket=ticket, event="escalation_declined", data={"reason": exc.detail}
        )
        return sla.close_escalation_request(request_id=request_id, done=False, note=exc.detail)
    return sla.close_escalation_request(request_id=request_id, done=True)


# --- vendors (Tier 3/4) ------------------------------------------------------------------------------


@transaction.atomic
def escalate_to_vendor(
    *,
    actor: Actor,
    ticket: Ticket,
    vendor: SupportGroup,
    message: str,
    contact: VendorContact | None = None,
    vendor_reference: str = "",
    expected_version: int | None = None,
) -> VendorEscalation:
    """Hand a ticket to a vendor: pending vendor (their clock runs), at the vendor's tier, and a
    threaded e-mail to the vendor's contact, queued in this transaction through the outbox."""
    ticket = _ticket_to_move(actor, ticket, expected_version, "escalate to a vendor")
    if not vendor.is_vendor or not vendor.is_active:
        raise DomainError(f"{vendor.name} is not an active vendor.")
    if vendor.organisation_id != _provider_id(ticket) or not vendor.serves.filter(pk=ticket.organisation_id).exists():
        raise DomainError(f"{vendor.name} does not support {ticket.organisation.name}.")
    if not message.strip():
        raise DomainError("Say what the vendor should know: the message is required.")
    contact = contact or vendor.vendor_contacts.first()
    if contact is None or contact.vendor_id != vendor.pk:
        raise DomainError(f"{vendor.name} has no contact to write to.")
    if "\r" in vendor_reference or "\n" in vendor_reference:
        raise DomainError("A vendor reference is one line.")
    tickets.add_note(actor=actor, ticket=ticket, body=f"To {vendor.name} ({contact}): {message.strip()}")
    ticket = tickets.update_ticket(
        actor=actor,
        ticket=ticket,
        changes=TicketChanges(support_group=vendor, tier=vendor.tier, assignee=None),
        expected_version=None,
    )
    if ticket.status != TicketStatus.PENDING_VENDOR:
        ticket = tickets.transition(actor=actor, ticket=ticket, to_status=TicketStatus.PENDING_VENDOR)
    escalation = VendorEscalation.objects.create(
        organisation_id=ticket.organisation_id,
        ticket=ticket,
        vendor=vendor,
        contact=contact,
        vendor_reference=vendor_reference.strip(),
        message=message.strip(),
    )
    tickets.record_system_event(
        actor=actor,
        ticket=ticket,
        event="vendor_escalated",
        data={"vendor": vendor.name, "contact": str(contact), "reference": escalation.vendor_reference},
    )
    # Inside the transaction, not after it: the outbox row commits with the escalation or not at all.
    vendor_handoff.send(sender="routing", escalation=escalation)
    return escalation


@transaction.atomic
def record_vendor_reference(*, actor: Actor, escalation: VendorEscalation, reference: str) -> VendorEscalation:
    """The vendor's own case number, once they answered with it."""
    reference = reference.strip()
    if not reference or "\n" in reference or "\r" in reference:
        raise DomainError("A vendor reference is one line of text.")
    ticket = (
        Ticket.objects.visible_to(actor).filter(pk=escalation.ticket_id).first() if actor.user else escalation.ticket
    )
    if ticket is None:
        raise DomainError("No such ticket, or you may not see it.")
    escalation.vendor_reference = reference[:120]
    escalation.save(update_fields=["vendor_reference"])
    tickets.record_system_event(
        actor=actor,
        ticket=ticket,
        event="vendor_reference",
        data={"vendor": escalation.vendor.name, "reference": reference},
    )
    return escalation


# --- configuration ----------------------------------------------------------------------------------


@transaction.atomic
def add_vendor_contact(*, actor: Actor, vendor: SupportGroup, name: str, email: str) -> VendorContact:
    if not vendor.is_vendor:
        raise DomainError(f"{vendor.name} is not a vendor.")
    if not name.strip() or "@" not in email or any(c in email for c in "\r\n "):
        raise DomainError("A vendor contact needs a name and an e-mail address.")
    contact = VendorContact.objects.create(
        vendor=vendor, name=name.strip(), email=email.strip(), is_primary=not vendor.vendor_contacts.exists()
    )
    record_event(
        actor=actor,
        action="vendor_contact.created",
        obj=vendor,
        organisation_id=vendor.organisation_id,
        after={"name": contact.name, "email": contact.email},
    )
    return contact


@transaction.atomic
def create_classification_rule(
    *,
    actor: Actor,
    provider: Organisation,
    name: str,
    order: int = 100,
    keywords: str = "",
    pattern: str = "",
    client: Organisation | None = None,
    channel: str = "",
    set_category: Category | None = None,
    set_ticket_type: str = "",
    set_impact: str = "",
    set_urgency: str = "",
    set_skills: Iterable[Skill] = (),
    stop: bool = False,
) -> ClassificationRule:
    if pattern:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise DomainError(f"Not a valid regular expression: {exc}") from exc
    if set_ticket_type and set_ticket_type not in TicketType.values:
        raise DomainError(f"Unknown ticket type {set_ticket_type!r}.")
    for level in (set_impact, set_urgency):
        if level and level not in Level.values:
            raise DomainError("Impact and urgency must each be high, medium or low.")
    if client is not None and client.provider_id != provider.pk:
        raise DomainError(f"{client.name} is not a client of {provider.name}.")
    rule = ClassificationRule.objects.create(
        organisation=provider,
        name=name,
        order=order,
        keywords=keywords,
        pattern=pattern,
        client_organisation=client,
        channel=channel,
        set_category=set_category,
        set_ticket_type=set_ticket_type,
        set_impact=set_impact,
        set_urgency=set_urgency,
        stop=stop,
    )
    rule.set_skills.set(list(set_skills))
    record_event(
        actor=actor, action="classification_rule.created", obj=rule, organisation_id=provider.pk, after={"name": name}
    )
    return rule


@transaction.atomic
def create_routing_entry(
    *,
    actor: Actor,
    provider: Organisation,
    support_group: SupportGroup,
    category: Category | None = None,
    client: Organisation | None = None,
) -> RoutingEntry:
    if support_group.organisation_id != provider.pk:
        raise DomainError(f"{support_group.name} belongs to another provider.")
    if client is not None and not support_group.serves.filter(pk=client.pk).exists():
        raise DomainError(f"{support_group.name} does not serve {client.name}.")
    entry = RoutingEntry.objects.create(
        organisation=provider, support_group=support_group, category=category, client_organisation=client
    )
    record_event(
        actor=actor, action="routing_entry.created", obj=entry, organisation_id=provider.pk, after={"entry": str(entry)}
    )
    return entry


@transaction.atomic
def create_regulated_scope(
    *, actor: Actor, client: Organisation, regime: str, categories: Iterable[Category] = ()
) -> RegulatedScope:
    if client.provider_id is None:
        raise DomainError("Regulated scopes are set on client organisations.")
    if regime not in TrainingRegime.values:
        raise DomainError(f"Unknown training regime {regime!r}.")
    scope = RegulatedScope.objects.create(organisation_id=client.provider_id, client_organisation=client, regime=regime)
    scope.categories.set(list(categories))
    record_event(
        actor=actor,
        action="regulated_scope.created",
        obj=scope,
        organisation_id=client.provider_id,
        after={"scope": str(scope)},
    )
    return scope


@transaction.atomic
def set_agent_shift(*, actor: Actor, agent: User, calendar: BusinessCalendar | None) -> AgentShift | None:
    """The calendar an agent works by (None: on shift whenever available)."""
    if calendar is not None and calendar.organisation_id != agent.organisation_id:
        raise DomainError("The shift calendar belongs to another provider.")
    AgentShift.objects.filter(agent=agent).delete()
    shift = AgentShift.objects.create(agent=agent, calendar=calendar) if calendar is not None else None
    record_event(
        actor=actor,
        action="agent.shift_set",
        obj=agent,
        organisation_id=agent.organisation_id,
        after={"calendar": calendar.name if calendar else None},
    )
    return shift


# --- engineering hand-off ----------------------------------------------------------------------------
# A code defect goes to the provider's tracker (GitHub Issues, Jira or a signed webhook): the
# link is written here, the request is queued through the outbox by notifications (which hears
# `engineering_handoff` inside this transaction), and the tracker's answer and its "resolved"
# webhook come back through the functions below.


def _issue_key(link: EngineeringLink) -> str:
    if not link.external_id:
        return f"engineering link {link.pk}"
    return f"#{link.external_id}" if link.tracker.kind == EngineeringTracker.Kind.GITHUB else link.external_id


def _locked_link(link_id: int) -> EngineeringLink | None:
    return EngineeringLink.objects.select_for_update().select_related("tracker").filter(pk=link_id).first()


def _save_link(link: EngineeringLink, fields: list[str]) -> None:
    link.updated_at = clock.now()
    link.save(update_fields=[*fields, "updated_at"])


@transaction.atomic
def send_to_engineering(
    *,
    actor: Actor,
    ticket: Ticket,
    tracker: EngineeringTracker,
    reproduction_steps: str,
    environment: str = "",
    expected_version: int | None = None,
) -> EngineeringLink:
    """Hand a code defect to engineering: an issue in the provider's tracker, the ticket pending engineering.

    The reproduction steps become an internal note and the body of the issue; the issue itself is
    opened after commit by the outbox, with retries, and recorded by `record_engineering_issue`.
    """
    ticket = _ticket_to_move(actor, ticket, expected_version, "send tickets to engineering")
    tracker = EngineeringTracker.objects.filter(pk=tracker.pk).first() or tracker
    if tracker.organisation_id != _provider_id(ticket) or not tracker.is_active:
        raise DomainError(f"{tracker.name} is not an active tracker of the desk serving {ticket.organisation.name}.")
    steps, environment = reproduction_steps.strip(), environment.strip()
    if not steps:
        raise DomainError("Say how to reproduce the defect: the reproduction steps are required.")
    if ticket.status == TicketStatus.PENDING_ENGINEERING:
        raise DomainError(f"{ticket.number} is already pending engineering.")
    if TicketStatus.PENDING_ENGINEERING not in workflow.TRANSITIONS[ticket.status]:
        raise IllegalTransition(
            f"{ticket.number} is {ticket.get_status_display()}; only an open ticket can go to engineering.",
            workflow.allowed_targets(ticket.status),
        )
    waiting = EngineeringLink.objects.filter(
        ticket=ticket, state__in=[EngineeringLink.State.REQUESTED, EngineeringLink.State.OPEN]
    ).first()
    if waiting is not None:
        raise DomainError(f"{ticket.number} already has an engineering issue open ({_issue_key(waiting)}).")

    link = EngineeringLink.objects.create(
        organisation_id=ticket.organisation_id,
        ticket=ticket,
        tracker=tracker,
        reproduction_steps=steps,
        environment=environment,
    )
    note = f"Sent to engineering ({tracker.name}).\n\nReproduction steps:\n{steps}"
    if environment:
        note += f"\n\nEnvironment:\n{environment}"
    tickets.add_note(actor=actor, ticket=ticket, body=note)
    ticket = tickets.transition(
        actor=actor, ticket=ticket, to_status=TicketStatus.PENDING_ENGINEERING, reason="Sent to engineering"
    )
    tickets.record_system_event(
        actor=actor,
        ticket=ticket,
        event="sent_to_engineering",
        data={"link_id": link.pk, "tracker": tracker.name, "kind": tracker.kind},
    )
    # Inside the transaction (decision 0005): the outbox row commits with the link or not at all.
    engineering_handoff.send(sender="routing", link_id=link.pk)
    return link


@transaction.atomic
def record_engineering_issue(
    *, link_id: int, external_id: str, url: str, actor: Actor = ROUTING
) -> EngineeringLink | None:
    """The tracker opened the issue: keep its number (or key) and address. A repeat changes nothing."""
    link = _locked_link(link_id)
    external_id = " ".join(external_id.split())[:120]
    if link is None or link.state != EngineeringLink.State.REQUESTED or not external_id:
        return link
    link.state = EngineeringLink.State.OPEN
    link.external_id = external_id
    # The address comes from the tracker's answer and ends up in a link: only http(s), never javascript:.
    link.url = url if url.startswith(("https://", "http://")) and len(url) <= 200 else ""
    _save_link(link, ["state", "external_id", "url"])
    tickets.record_system_event(
        actor=actor,
        ticket=link.ticket,
        event="engineering_issue_opened",
        data={"link_id": link.pk, "tracker": link.tracker.name, "issue": link.external_id, "url": link.url},
    )
    return link


@transaction.atomic
def engineering_failed(*, link_id: int, reason: str, actor: Actor = ROUTING) -> EngineeringLink | None:
    """The issue could not be opened (the outbox gave up): the ticket comes back to work at its tier."""
    link = _locked_link(link_id)
    if link is None or link.state != EngineeringLink.State.REQUESTED:
        return link
    reason = " ".join(reason.split())[:500] or "the tracker did not answer"
    link.state = EngineeringLink.State.FAILED
    _save_link(link, ["state"])
    ticket = Ticket.objects.get(pk=link.ticket_id)
    tickets.record_system_event(
        actor=actor,
        ticket=ticket,
        event="engineering_failed",
        data={"link_id": link.pk, "tracker": link.tracker.name, "reason": reason},
    )
    if ticket.status in workflow.TERMINAL:
        return link
    tickets.add_note(
        actor=actor,
        ticket=ticket,
        body=f"The issue could not be opened in {link.tracker.name}: {reason}. "
        "Send it to engineering again, or handle the ticket here.",
    )
    if ticket.status == TicketStatus.PENDING_ENGINEERING:
        tickets.transition(
            actor=actor,
            ticket=ticket,
            to_status=TicketStatus.IN_PROGRESS,
            reason="The engineering issue was not opened",
        )
    return link


@transaction.atomic
def engineering_resolved(*, link: EngineeringLink, resolution: str, actor: Actor = ROUTING) -> EngineeringLink:
    """Engineering fixed it: the ticket goes back to Tier 1, in progress, to confirm with the requester.

    Tier 1 is the routing table's group at Tier 1, else a Tier 1 group serving the client; with
    neither, the ticket waits at Tier 1 in the unassigned queue. Idempotent: a second call (a
    second webhook for the same issue) changes nothing.
    """
    locked = _locked_link(link.pk)
    if locked is None:
        raise NotFound("No such engineering link.")
    link = locked
    if link.state == EngineeringLink.State.RESOLVED:
        return link
    resolution = " ".join(resolution.split())[:500] or "resolved"
    link.state = EngineeringLink.State.RESOLVED
    _save_link(link, ["state"])
    ticket = Ticket.objects.select_related("organisation", "category", "support_group").get(pk=link.ticket_id)
    key = _issue_key(link)
    back_to: SupportGroup | None = None
    if ticket.status not in workflow.TERMINAL:
        tickets.add_note(
            actor=actor, ticket=ticket, body=f"Engineering resolved {key}: {resolution}; confirm with the requester"
        )
    if ticket.status in workflow.OPEN:
        back_to = _serving_group(ticket, 1)
        changes = (
            TicketChanges(support_group=back_to, tier=1)
            if back_to is not None
            else TicketChanges(support_group=None, tier=1, assignee=None)
        )
        ticket = tickets.update_ticket(actor=actor, ticket=ticket, changes=changes, expected_version=None)
        if ticket.status != TicketStatus.IN_PROGRESS:
            ticket = tickets.transition(
                actor=actor, ticket=ticket, to_status=TicketStatus.IN_PROGRESS, reason="Engineering resolved the issue"
            )
        ticket_id = ticket.pk
        transaction.on_commit(lambda: _assign_later(ticket_id))
    tickets.record_system_event(
        actor=actor,
        ticket=ticket,
        event="engineering_resolved",
        data={
            "link_id": link.pk,
            "tracker": link.tracker.name,
            "issue": link.external_id,
            "resolution": resolution,
            "group": back_to.name if back_to is not None else None,
        },
    )
    return link
