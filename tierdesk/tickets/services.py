"""The only writers of tickets. Each takes the acting person, runs in one transaction and
records the timeline entry, field history and audit event of what it changed."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

import magic
from django.conf import settings
from django.core.files.base import File
from django.db import transaction

from tierdesk.accounts.models import AgentProfile, Requester, Skill, SupportGroup, User
from tierdesk.accounts.scope import scope_for
from tierdesk.audit.services import record_event
from tierdesk.cmdb.models import BusinessService, ConfigurationItem
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.core.db import locked_row
from tierdesk.core.errors import DomainError, NotFound, PayloadTooLarge, PermissionDenied, StaleVersion
from tierdesk.core.models import check_lengths
from tierdesk.core.unset import UNSET, Changes
from tierdesk.tenancy.models import Site
from tierdesk.tickets import assignment, classification, satisfaction, workflow
from tierdesk.tickets.choices import (
    NUMBER_PREFIX,
    Channel,
    Level,
    Priority,
    ResolutionCode,
    TicketStatus,
    TicketType,
    TimelineKind,
)
from tierdesk.tickets.events import announce
from tierdesk.tickets.models import (
    Attachment,
    Category,
    FieldChange,
    PriorityRule,
    SatisfactionRating,
    SavedView,
    Ticket,
    TicketNumberSequence,
    TicketParticipant,
    TicketWatcher,
    TimelineEntry,
)

# The ITIL matrix the admin-editable PriorityRule rows start from (and fall back to).
DEFAULT_PRIORITY_MATRIX: dict[tuple[str, str], int] = {
    (Level.HIGH, Level.HIGH): Priority.P1,
    (Level.HIGH, Level.MEDIUM): Priority.P2,
    (Level.MEDIUM, Level.HIGH): Priority.P2,
    (Level.HIGH, Level.LOW): Priority.P3,
    (Level.MEDIUM, Level.MEDIUM): Priority.P3,
    (Level.LOW, Level.HIGH): Priority.P3,
    (Level.MEDIUM, Level.LOW): Priority.P4,
    (Level.LOW, Level.MEDIUM): Priority.P4,
    (Level.LOW, Level.LOW): Priority.P5,
}

AUDITED_FIELDS = (
    "status",
    "title",
    "category_id",
    "site_id",
    "impact",
    "urgency",
    "priority",
    "tier",
    "support_group_id",
    "assignee_id",
    "parent_id",
    "resolution_code",
    "affected_service_id",
    "affected_item_id",
)


@dataclass(frozen=True)
class TicketChanges(Changes):
    title: str = UNSET
    description: str = UNSET
    category: Category | None = UNSET
    site: Site | None = UNSET
    impact: str = UNSET
    urgency: str = UNSET
    support_group: SupportGroup | None = UNSET
    tier: int = UNSET
    assignee: User | None = UNSET
    parent: Ticket | None = UNSET
    affected_service: BusinessService | None = UNSET
    affected_item: ConfigurationItem | None = UNSET


# --- helpers ----------------------------------------------------------------------------


def priority_for(impact: str, urgency: str) -> int:
    if impact not in Level.values or urgency not in Level.values:
        raise DomainError("Impact and urgency must each be high, medium or low.")
    rule = PriorityRule.objects.filter(impact=impact, urgency=urgency).values_list("priority", flat=True).first()
    return int(rule) if rule is not None else int(DEFAULT_PRIORITY_MATRIX[(impact, urgency)])


def _require_agent_side(actor: Actor, what: str) -> None:
    if actor.user is not None and not scope_for(actor).is_agent_side:
        raise PermissionDenied(f"Only agents may {what}.")


def _snapshot(ticket: Ticket) -> dict[str, Any]:
    return {name: getattr(ticket, name) for name in AUDITED_FIELDS}


def _display(ticket: Ticket, name: str) -> str:
    """A readable value for field history ('Network team (T2)' rather than '7')."""
    if name.endswith("_id"):
        related = getattr(ticket, name[:-3])
        return "" if related is None else str(related)
    value = getattr(ticket, name)
    return "" if value is None else str(value)


def _lock(actor: Actor, ticket: Ticket, expected_version: int | None) -> Ticket:
    """Re-read the ticket under a row lock, inside the actor's scope, checking its version."""
    qs = Ticket.objects.select_for_update()
    if actor.user is not None:
        qs = qs.visible_to(actor)
    locked = qs.filter(pk=ticket.pk).first()
    if locked is None:
        raise NotFound("No such ticket, or you may not see it.")
    if expected_version is not None and locked.version != expected_version:
        raise StaleVersion(
            f"Ticket {locked.number} was changed by someone else (version {locked.version}, "
            f"you had {expected_version}); reload it and apply your change again.",
            locked.version,
        )
    return locked


def _save(ticket: Ticket, update_fields: Iterable[str]) -> None:
    """Write the changed fields only if nobody bumped the version meanwhile."""
    names = set(update_fields)
    values = {name: getattr(ticket, name) for name in names}
    values["updated_at"] = clock.now()
    written = Ticket.objects.filter(pk=ticket.pk, version=ticket.version).update(version=ticket.version + 1, **values)
    if written != 1:
        current = Ticket.objects.filter(pk=ticket.pk).values_list("version", flat=True).first() or 0
        raise StaleVersion(f"Ticket {ticket.number} was changed by someone else meanwhile.", current)
    ticket.version += 1
    ticket.updated_at = values["updated_at"]


def _timeline(
    ticket: Ticket,
    actor: Actor,
    kind: str,
    *,
    body: str = "",
    event: str = "",
    data: dict[str, Any] | None = None,
    is_public: bool = False,
    channel: str | None = None,
) -> TimelineEntry:
    return TimelineEntry.objects.create(
        organisation_id=ticket.organisation_id,
        ticket=ticket,
        kind=kind,
        is_public=is_public,
        author=actor.user,
        author_label=str(actor.user) if actor.user else actor.label,
        channel=channel or _channel_of(actor, ticket),
        body=body,
        event=event,
        data=data or {},
    )


def _history(ticket: Ticket, actor: Actor, field: str, old: str, new: str) -> None:
    FieldChange.objects.create(
        organisation_id=ticket.organisation_id,
        ticket=ticket,
        actor=actor.user,
        actor_label=actor.label,
        field=field,
        old_value=old,
        new_value=new,
    )


def _channel_of(actor: Actor, ticket: Ticket) -> str:
    return {"api": Channel.API, "email": Channel.EMAIL, "monitoring": Channel.MONITORING}.get(
        actor.via, Channel.PORTAL if actor.user is None or not scope_for(actor).is_agent_side else ticket.channel
    )


def _record_changes(actor: Actor, ticket: Ticket, before: dict[str, Any], labels: dict[str, str]) -> list[str]:
    """Write field history and change events for every field that moved; return their names."""
    changed = [name for name in AUDITED_FIELDS if before[name] != getattr(ticket, name)]
    for name in changed:
        new_label = _display(ticket, name)
        _history(ticket, actor, name.removesuffix("_id"), labels.get(name, ""), new_label)
    events = {
        "assignee_id": "assigned",
        "support_group_id": "group_changed",
        "priority": "priority_changed",
        "tier": "tier_changed",
        "category_id": "category_changed",
    }
    for name in changed:
        if name in events:
            _timeline(
                ticket,
                actor,
                TimelineKind.EVENT,
                event=events[name],
                data={"field": name.removesuffix("_id"), "old": labels.get(name, ""), "new": _display(ticket, name)},
            )
    return changed


def _labels(ticket: Ticket) -> dict[str, str]:
    return {name: _display(ticket, name) for name in AUDITED_FIELDS}


def _check_references(ticket: Ticket, changes: dict[str, Any]) -> None:
    """Refuse references to another organisation's objects or to ineligible agents."""
    org_id = ticket.organisation_id
    site = changes.get("site")
    if site is not None and site.organisation_id != org_id:
        raise DomainError("That site belongs to another organisation.")
    category = changes.get("category")
    if category is not None and not category.is_active:
        raise DomainError(f"Category {category} is retired.")
    group = changes.get("support_group")
    if group is not None:
        if group.organisation_id != _provider_id(ticket) or not group.is_active:
            raise DomainError("That support group does not work for this organisation.")
        if org_id != group.organisation_id and not group.serves.filter(pk=org_id).exists():
            raise DomainError(f"{group.name} does not serve {ticket.organisation.name}.")
    assignee = changes.get("assignee")
    if assignee is not None:
        if not assignee.is_active or not assignee.is_agent_side:
            raise DomainError(f"{assignee} is not an active agent.")
        if org_id not in scope_for(Actor(user=assignee)).organisation_ids:
            raise DomainError(f"{assignee} does not work for {ticket.organisation.name}.")
        effective_group = group if "support_group" in changes else ticket.support_group
        if effective_group is not None and not effective_group.memberships.filter(agent=assignee).exists():
            raise DomainError(f"{assignee} is not a member of {effective_group.name}.")
    service = changes.get("affected_service")
    if service is not None and not _serves(service, org_id, _provider_id(ticket)):
        raise DomainError(f"The service {service} is not one of {ticket.organisation.name}'s.")
    item = changes.get("affected_item")
    if item is not None and item.organisation_id not in (org_id, _provider_id(ticket)):
        raise DomainError("That configuration item belongs to another organisation.")
    parent = changes.get("parent")
    if parent is not None:
        if parent.organisation_id != org_id and parent.organisation_id != _provider_id(ticket):
            raise DomainError("The parent ticket belongs to another organisation.")
        if parent.pk == ticket.pk:
            raise DomainError("A ticket cannot be its own parent.")


def _serves(service: BusinessService, organisation_id: int, provider_id: int) -> bool:
    if not service.is_active:
        return False
    if service.organisation_id == organisation_id:
        return True
    # The provider's own services, and any shared with this client, serve it.
    return service.organisation_id == provider_id and (
        provider_id == organisation_id or service.serves.filter(pk=organisation_id).exists()
    )


def _check_assignable(ticket: Ticket, agent: User) -> None:
    """The same rules for every assignment, by hand or by routing (see tickets/assignment.py).

    The agent's profile row is locked first (as routing's auto_assign does), so a manual
    assignment and an automatic one at the same moment cannot both fill the last slot.
    """
    list(AgentProfile.objects.select_for_update().filter(user_id=agent.pk).values_list("pk"))
    reasons = assignment.refusals(ticket, agent)
    if reasons:
        raise DomainError(f"{agent} cannot take {ticket.number or 'this ticket'}: {'; '.join(reasons)}.")


def _provider_id(ticket: Ticket) -> int:
    return ticket.organisation.provider_id or ticket.organisation_id


def _next_number(ticket_type: str) -> str:
    seq = locked_row(TicketNumberSequence, ticket_type=ticket_type)
    seq.last_value += 1
    seq.save(update_fields=["last_value"])
    return f"{NUMBER_PREFIX[ticket_type]}{seq.last_value:07d}"


def _audit(
    actor: Actor, action: str, ticket: Ticket, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> None:
    record_event(
        actor=actor, action=action, obj=ticket, organisation_id=ticket.organisation_id, before=before, after=after
    )


# --- services -----------------------------------------------------------------------------


@transaction.atomic
def open_ticket(
    *,
    actor: Actor,
    requester: Requester,
    title: str,
    description: str = "",
    ticket_type: str | None = None,
    channel: str = Channel.PORTAL,
    category: Category | None = None,
    impact: str = Level.MEDIUM,
    urgency: str = Level.MEDIUM,
    site: Site | None = None,
    support_group: SupportGroup | None = None,
    assignee: User | None = None,
    parent: Ticket | None = None,
    affected_service: BusinessService | None = None,
    affected_item: ConfigurationItem | None = None,
    data: dict[str, Any] | None = None,
) -> Ticket:
    """Open a ticket for a requester. The ticket belongs to the requester's organisation.

    `data` is kept on the "opened" timeline event: where the ticket came from (e.g. the e-mail's Message-ID).
    """
    scope = scope_for(actor)
    if actor.user is not None:
        own = scope.requester_id == requester.pk
        if not own and (not scope.is_agent_side or requester.organisation_id not in scope.organisation_ids):
            raise NotFound("No such requester, or you may not open tickets for them.")
        if not scope.is_agent_side and (support_group or assignee or parent):
            raise PermissionDenied("Requesters cannot choose a group, an assignee or a parent ticket.")
    if not requester.is_active:
        raise DomainError(f"Requester {requester} is deactivated.")
    if ticket_type is not None and ticket_type not in TicketType.values:
        raise DomainError(f"Unknown ticket type {ticket_type!r}.")
    if channel not in Channel.values:
        raise DomainError(f"Unknown channel {channel!r}.")
    title = title.strip()
    if not title:
        raise DomainError("A ticket needs a title.")

    ticket = Ticket(
        organisation_id=requester.organisation_id,
        ticket_type=ticket_type or TicketType.INCIDENT,
        title=title,
        description=description,
        requester=requester,
        site=site or requester.site,
        channel=channel,
        category=category,
        impact=impact,
        urgency=urgency,
        priority=priority_for(impact, urgency),
        support_group=support_group,
        tier=support_group.tier if support_group else 1,
        assignee=assignee,
        parent=parent,
        affected_service=affected_service,
        affected_item=affected_item,
        status=TicketStatus.ASSIGNED if assignee else TicketStatus.NEW,
    )
    ticket.organisation = requester.organisation
    _check_references(
        ticket,
        {
            "site": ticket.site,
            "category": category,
            "support_group": support_group,
            "assignee": assignee,
            "parent": parent,
            "affected_service": affected_service,
            "affected_item": affected_item,
        },
    )
    check_lengths(ticket)
    if assignee is not None:
        _check_assignable(ticket, assignee)
    if ticket_type is None:  # not chosen by the person opening it: the classification rules may
        ticket.ticket_type = classification.ticket_type_for(ticket) or TicketType.INCIDENT
    ticket.number = _next_number(ticket.ticket_type)
    ticket.created_at = ticket.updated_at = clock.now()
    ticket.save(force_insert=True)
    _timeline(
        ticket,
        actor,
        TimelineKind.EVENT,
        event="opened",
        is_public=True,
        channel=channel,
        data={**(data or {}), "number": ticket.number, "priority": ticket.priority},
    )
    after = _snapshot(ticket)
    after["number"] = ticket.number
    _audit(actor, "ticket.opened", ticket, None, after)
    announce(ticket.pk, "opened")
    return ticket


@transaction.atomic
def update_ticket(*, actor: Actor, ticket: Ticket, changes: TicketChanges, expected_version: int | None) -> Ticket:
    """Change any of the ticket's editable fields; priority follows impact and urgency."""
    _require_agent_side(actor, "edit tickets")
    given = changes.given()
    ticket = _lock(actor, ticket, expected_version)
    if ticket.status in workflow.TERMINAL:
        raise DomainError(f"Ticket {ticket.number} is {ticket.get_status_display()} and can no longer change.")
    if "title" in given and not str(given["title"]).strip():
        raise DomainError("A ticket needs a title.")
    if "tier" in given and given["tier"] not in (1, 2, 3, 4):
        raise DomainError("Tier must be 1, 2, 3 or 4.")
    for level in ("impact", "urgency"):
        if level in given and given[level] not in Level.values:
            raise DomainError(f"{level.capitalize()} must be high, medium or low.")
    _check_references(ticket, given)

    before, labels = _snapshot(ticket), _labels(ticket)
    old_description = ticket.description
    description_changed = "description" in given and given["description"] != ticket.description
    for name, value in given.items():
        setattr(ticket, name, value)
    if "support_group" in given and "tier" not in given and ticket.support_group is not None:
        ticket.tier = ticket.support_group.tier
    if "support_group" in given and "assignee" not in given and ticket.assignee_id is not None:
        group = ticket.support_group
        if group is not None and not group.memberships.filter(agent_id=ticket.assignee_id).exists():
            ticket.assignee = None  # moving to a group the assignee is not in frees the ticket
    ticket.priority = priority_for(ticket.impact, ticket.urgency)
    check_lengths(ticket)
    if ticket.assignee is not None and ticket.assignee_id != before["assignee_id"]:
        _check_assignable(ticket, ticket.assignee)
    if ticket.assignee_id and ticket.status == TicketStatus.NEW:
        ticket.status = TicketStatus.ASSIGNED
    elif not ticket.assignee_id and ticket.status == TicketStatus.ASSIGNED:
        ticket.status = TicketStatus.NEW

    changed = _record_changes(actor, ticket, before, labels)
    if description_changed:
        _history(ticket, actor, "description", old_description, ticket.description)
    if not changed and not description_changed:
        return ticket
    if "status" in changed:
        _timeline(
            ticket,
            actor,
            TimelineKind.EVENT,
            event="status_changed",
            is_public=True,
            data={"old": before["status"], "new": ticket.status},
        )
    _save(ticket, [*changed, "description"] if description_changed else changed)
    _audit(actor, "ticket.updated", ticket, {k: before[k] for k in changed}, {k: getattr(ticket, k) for k in changed})
    announce(ticket.pk, "updated", {"fields": changed})
    return ticket


def assign(
    *,
    actor: Actor,
    ticket: Ticket,
    assignee: User | None,
    support_group: SupportGroup | None = UNSET,
    expected_version: int | None = None,
) -> Ticket:
    return update_ticket(
        actor=actor,
        ticket=ticket,
        changes=TicketChanges(assignee=assignee, support_group=support_group),
        expected_version=expected_version,
    )


def change_priority(
    *, actor: Actor, ticket: Ticket, impact: str, urgency: str, expected_version: int | None = None
) -> Ticket:
    return update_ticket(
        actor=actor,
        ticket=ticket,
        changes=TicketChanges(impact=impact, urgency=urgency),
        expected_version=expected_version,
    )


# Requesters may confirm, reopen within the window, or withdraw their own ticket.
REQUESTER_TARGETS = frozenset({TicketStatus.CLOSED, TicketStatus.IN_PROGRESS, TicketStatus.CANCELLED})


@transaction.atomic
def transition(
    *,
    actor: Actor,
    ticket: Ticket,
    to_status: str,
    resolution_code: str = "",
    resolution_notes: str = "",
    reason: str = "",
    expected_version: int | None = None,
) -> Ticket:
    """Move a ticket through the state machine (workflow.TRANSITIONS)."""
    ticket = _lock(actor, ticket, expected_version)
    current = ticket.status
    scope = scope_for(actor)
    if actor.user is not None and not scope.is_agent_side:
        reopening = workflow.is_reopen(current, to_status)
        if to_status not in REQUESTER_TARGETS or (to_status == TicketStatus.IN_PROGRESS and not reopening):
            raise PermissionDenied("Requesters may only confirm, reopen or cancel their tickets.")
    if resolution_code and resolution_code not in ResolutionCode.values:
        raise DomainError(f"Unknown resolution code {resolution_code!r}.")
    now = clock.now()
    workflow.check_transition(
        current,
        to_status,
        resolution_code=resolution_code,
        resolution_notes=resolution_notes,
        resolved_at=ticket.resolved_at,
        now=now,
        reopen_window=timedelta(days=settings.TIERDESK_REOPEN_WINDOW_DAYS),
    )
    before = _snapshot(ticket)
    update = ["status"]
    ticket.status = to_status
    if to_status == TicketStatus.RESOLVED:
        ticket.resolved_at, ticket.resolution_code, ticket.resolution_notes = now, resolution_code, resolution_notes
        update += ["resolved_at", "resolution_code", "resolution_notes"]
    elif workflow.is_reopen(current, to_status):
        ticket.resolved_at, ticket.resolution_code = None, ""
        ticket.reopen_count += 1
        update += ["resolved_at", "resolution_code", "reopen_count"]
    if to_status in workflow.TERMINAL:
        ticket.closed_at = now
        update.append("closed_at")
    _history(ticket, actor, "status", current, to_status)
    event = "reopened" if workflow.is_reopen(current, to_status) else "status_changed"
    data: dict[str, Any] = {"old": current, "new": to_status}
    if reason:
        data["reason"] = reason
    if to_status == TicketStatus.RESOLVED:
        data["resolution_code"] = resolution_code
    entry = _timeline(
        ticket,
        actor,
        TimelineKind.EVENT,
        event=event,
        is_public=True,
        body=resolution_notes if to_status == TicketStatus.RESOLVED else reason,
        data=data,
    )
    _save(ticket, update)
    _audit(actor, f"ticket.{event}", ticket, {"status": current}, {**before, "status": to_status})
    # The entry names the change once and for all (the requester's mail about it is keyed by it).
    announce(ticket.pk, event, {**data, "entry_id": entry.pk})
    return ticket


@transaction.atomic
def reply(
    *, actor: Actor, ticket: Ticket, body: str, channel: str | None = None, data: dict[str, Any] | None = None
) -> TimelineEntry:
    """A public reply, seen by the requester (and mailed to them when an agent wrote it).

    `data` is kept on the entry: where it came from (e.g. the e-mail's Message-ID).
    """
    if not body.strip():
        raise DomainError("A reply needs some text.")
    ticket = _lock(actor, ticket, None)
    if ticket.status in workflow.TERMINAL:
        raise DomainError(f"Ticket {ticket.number} is {ticket.get_status_display()}; open a new ticket instead.")
    entry = _timeline(ticket, actor, TimelineKind.REPLY, body=body, is_public=True, channel=channel, data=data)
    update: list[str] = []
    agent_side = actor.user is not None and scope_for(actor).is_agent_side
    if agent_side and ticket.first_response_at is None:
        ticket.first_response_at = entry.created_at
        update.append("first_response_at")
    if not agent_side and ticket.status == TicketStatus.PENDING_CUSTOMER:
        # The customer answered: the ball is back with the desk.
        ticket.status = TicketStatus.IN_PROGRESS
        update.append("status")
        _timeline(
            ticket,
            actor,
            TimelineKind.EVENT,
            event="status_changed",
            is_public=True,
            data={"old": TicketStatus.PENDING_CUSTOMER, "new": TicketStatus.IN_PROGRESS, "reason": "requester replied"},
        )
    _save(ticket, update)
    _audit(actor, "ticket.replied", ticket, None, {"entry_id": entry.pk, "length": len(body)})
    announce(ticket.pk, "replied", {"entry_id": entry.pk})
    return entry


@transaction.atomic
def add_note(*, actor: Actor, ticket: Ticket, body: str, data: dict[str, Any] | None = None) -> TimelineEntry:
    """An internal note: agents only, never shown to the requester."""
    _require_agent_side(actor, "write internal notes")
    if not body.strip():
        raise DomainError("A note needs some text.")
    ticket = _lock(actor, ticket, None)
    entry = _timeline(ticket, actor, TimelineKind.NOTE, body=body, is_public=False, data=data)
    _save(ticket, [])
    _audit(actor, "ticket.noted", ticket, None, {"entry_id": entry.pk, "length": len(body)})
    announce(ticket.pk, "noted", {"entry_id": entry.pk})
    return entry


def _digest(stream: IO[bytes], limit: int) -> tuple[str, int, bytes]:
    sha, size, head = hashlib.sha256(), 0, b""
    stream.seek(0)
    while chunk := stream.read(1024 * 1024):
        if not head:
            head = chunk[:8192]
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Attachments may be at most {limit} bytes.")
        sha.update(chunk)
    stream.seek(0)
    return sha.hexdigest(), size, head


def sniff_content_type(head: bytes) -> str:
    """What the bytes are, not what the client said they are."""
    if not head:
        return "application/x-empty"
    try:
        return str(magic.from_buffer(head, mime=True)) or "application/octet-stream"
    except magic.MagicException:
        return "application/octet-stream"


def clean_filename(name: str) -> str:
    # Keep the name the user gave (it is shown escaped and sent quoted), minus any path
    # and control characters that could confuse a download header or a file system.
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '"').strip()
    return (base or "attachment")[:255]


@transaction.atomic
def add_attachment(
    *, actor: Actor, ticket: Ticket, stream: IO[bytes], filename: str, is_public: bool = True
) -> Attachment:
    limit = settings.TIERDESK_ATTACHMENT_MAX_BYTES
    if not is_public:
        _require_agent_side(actor, "add internal attachments")
    sha256, size, head = _digest(stream, limit)
    ticket = _lock(actor, ticket, None)
    if ticket.status in workflow.TERMINAL:
        raise DomainError(f"Ticket {ticket.number} is {ticket.get_status_display()}; it takes no more attachments.")
    attachment = Attachment(
        organisation_id=ticket.organisation_id,
        ticket=ticket,
        filename=clean_filename(filename),
        size=size,
        sha256=sha256,
        content_type=sniff_content_type(head),
        is_public=is_public,
        uploaded_by=actor.user,
    )
    # Content-addressed storage: a file written by a rolled-back transaction is harmless.
    attachment.file.save(sha256, File(stream), save=False)
    attachment.save(force_insert=True)
    entry = _timeline(
        ticket,
        actor,
        TimelineKind.EVENT,
        event="attachment_added",
        is_public=is_public,
        data={"attachment_id": attachment.pk, "filename": attachment.filename, "size": size},
    )
    attachment.timeline_entry = entry
    Attachment.objects.filter(pk=attachment.pk).update(timeline_entry=entry)
    _save(ticket, [])
    _audit(
        actor,
        "ticket.attachment_added",
        ticket,
        None,
        {"attachment_id": attachment.pk, "filename": attachment.filename, "sha256": sha256, "size": size},
    )
    return attachment


@transaction.atomic
def log_call(
    *,
    actor: Actor,
    requester: Requester,
    title: str,
    notes: str = "",
    category: Category | None = None,
    impact: str = Level.MEDIUM,
    urgency: str = Level.MEDIUM,
    site: Site | None = None,
    ticket_type: str = TicketType.INCIDENT,
    resolved_on_call: bool = False,
    resolution_code: str = ResolutionCode.FIXED,
) -> Ticket:
    """A phone call logged by the agent who took it: the ticket is theirs from the start.

    "Resolved on the call" resolves it at once and marks it resolved at first contact.
    """
    _require_agent_side(actor, "log calls")
    if actor.user is None:
        raise PermissionDenied("A call is logged by the agent who took it.")
    group = (
        SupportGroup.objects.filter(memberships__agent=actor.user, is_active=True, serves=requester.organisation_id)
        .order_by("tier", "name")
        .first()
    )
    ticket = open_ticket(
        actor=actor,
        requester=requester,
        title=title,
        description=notes,
        ticket_type=ticket_type,
        channel=Channel.PHONE,
        category=category,
        impact=impact,
        urgency=urgency,
        site=site,
        support_group=group,
        assignee=actor.user if group is not None else None,
    )
    if not resolved_on_call:
        return ticket
    ticket = transition(
        actor=actor,
        ticket=ticket,
        to_status=TicketStatus.RESOLVED,
        resolution_code=resolution_code,
        resolution_notes=notes or "Resolved on the call.",
    )
    ticket.resolved_on_first_contact = True
    _save(ticket, ["resolved_on_first_contact"])
    _audit(actor, "ticket.resolved_on_first_contact", ticket, None, {"resolved_on_first_contact": True})
    return ticket


@transaction.atomic
def set_watching(*, actor: Actor, ticket: Ticket, watching: bool) -> bool:
    """The acting agent starts or stops watching a ticket; returns whether they now watch it."""
    _require_agent_side(actor, "watch tickets")
    if actor.user is None:
        raise PermissionDenied("Only people watch tickets.")
    ticket = _lock(actor, ticket, None)
    if watching:
        _, created = TicketWatcher.objects.get_or_create(ticket=ticket, user=actor.user)
        changed = created
    else:
        changed = TicketWatcher.objects.filter(ticket=ticket, user=actor.user).delete()[0] > 0
    if changed:
        _audit(actor, "ticket.watched" if watching else "ticket.unwatched", ticket, None, {"user_id": actor.user.pk})
    return watching


@transaction.atomic
def rate_resolution(*, actor: Actor, ticket: Ticket, score: int, comment: str = "") -> SatisfactionRating:
    """The requester rates how their ticket was resolved (1 to 5); a second rating replaces the first."""
    scope = scope_for(actor)
    if actor.user is None or scope.requester_id != ticket.requester_id:
        raise PermissionDenied("Only the requester of a ticket may rate its resolution.")
    return _rate(actor, ticket, score, comment)


@transaction.atomic
def rate_resolution_by_link(*, actor: Actor, token: str, score: int, comment: str = "") -> SatisfactionRating:
    """The requester rates through the signed link of their resolution mail, without a login:
    the link proves who they are (satisfaction.py), so a forged or expired one writes nothing."""
    ticket = satisfaction.ticket_for_link(token)
    return _rate(actor, ticket, score, comment)


def _rate(actor: Actor, ticket: Ticket, score: int, comment: str) -> SatisfactionRating:
    if ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        raise DomainError("A ticket can be rated once it is resolved.")
    if score not in range(1, 6):
        raise DomainError("The rating must be a whole number from 1 to 5.")
    rating, _ = SatisfactionRating.objects.update_or_create(
        ticket=ticket,
        defaults={
            "organisation_id": ticket.organisation_id,
            "requester_id": ticket.requester_id,
            "score": score,
            "comment": comment.strip(),
        },
    )
    _timeline(ticket, actor, TimelineKind.EVENT, event="rated", data={"score": score})
    _audit(actor, "ticket.rated", ticket, None, {"score": score})
    return rating


@transaction.atomic
def save_view(*, actor: Actor, name: str, query: str) -> SavedView:
    """Save (or overwrite) a personal console view."""
    _require_agent_side(actor, "save console views")
    if actor.user is None or not name.strip():
        raise DomainError("A saved view needs a name.")
    view, _ = SavedView.objects.update_or_create(
        user=actor.user, name=name.strip()[:80], defaults={"query": query.lstrip("?")[:1000]}
    )
    return view


@transaction.atomic
def delete_view(*, actor: Actor, view_id: int) -> None:
    if actor.user is None or SavedView.objects.filter(user=actor.user, pk=view_id).delete()[0] == 0:
        raise NotFound("No such saved view.")


@transaction.atomic
def set_required_skills(*, actor: Actor, ticket: Ticket, skills: Iterable[Skill]) -> Ticket:
    """What the agent must know for this ticket (set by classification, or by an agent)."""
    _require_agent_side(actor, "set required skills")
    ticket = _lock(actor, ticket, None)
    chosen = list(skills)
    provider_id = _provider_id(ticket)
    if any(skill.organisation_id != provider_id for skill in chosen):
        raise DomainError("Skills belong to the ticket's provider.")
    before = sorted(ticket.required_skills.values_list("name", flat=True))
    after = sorted(skill.name for skill in chosen)
    if before == after:
        return ticket
    ticket.required_skills.set(chosen)
    _history(ticket, actor, "required_skills", ", ".join(before), ", ".join(after))
    _save(ticket, [])
    _audit(actor, "ticket.required_skills", ticket, {"required_skills": before}, {"required_skills": after})
    announce(ticket.pk, "updated", {"fields": ["required_skills"]})
    return ticket


@transaction.atomic
def record_system_event(
    *, actor: Actor, ticket: Ticket, event: str, data: dict[str, Any], is_public: bool = False
) -> TimelineEntry:
    """A system event on the timeline from another part of the desk (e.g. an SLA breach)."""
    entry = _timeline(ticket, actor, TimelineKind.EVENT, event=event, data=data, is_public=is_public)
    _audit(actor, f"ticket.{event}", ticket, None, data)
    return entry


# --- history imported from another service desk -----------------------------------------------


@dataclass(frozen=True)
class HistoricChange:
    """One recorded change of another desk's ticket: a field's old and new value at a moment."""

    at: datetime
    field: str  # status, priority, support_group, tier
    old: str
    new: str


@dataclass(frozen=True)
class HistoricTicket:
    """A closed chapter of another desk: the ticket as it ended, and how it got there."""

    number: str
    title: str
    requester: Requester
    opened_at: datetime
    status: str
    impact: str
    urgency: str
    priority: int
    channel: str = Channel.PHONE
    support_group: SupportGroup | None = None
    tier: int = 1
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    reopen_count: int = 0
    source: str = ""
    changes: tuple[HistoricChange, ...] = ()


IMPORT_NUMBER = re.compile(r"[A-Z]{3}[0-9]{7}")


@transaction.atomic
def import_ticket(*, actor: Actor, record: HistoricTicket) -> Ticket | None:
    """Store another desk's ticket with its recorded history, as it happened; None if already here.

    Not a replay through the state machine: the history is a fact of the other desk, kept
    with its own times, so the SLA engine can read it like any ticket's. Nothing is announced
    (no notifications or clock alarms about the past); the caller recomputes its clocks.
    """
    _require_agent_side(actor, "import tickets")
    if not IMPORT_NUMBER.fullmatch(record.number) or record.number[:3] in NUMBER_PREFIX.values():
        raise DomainError(f"Imported numbers need their own prefix (e.g. UCI0000045), not {record.number!r}.")
    if record.status not in TicketStatus.values or record.tier not in (1, 2, 3, 4):
        raise DomainError(f"Unknown status {record.status!r} or tier {record.tier} for {record.number}.")
    if any(change.at < record.opened_at for change in record.changes):
        raise DomainError(f"{record.number} has a change before it was opened.")
    if Ticket.objects.filter(number=record.number).exists():
        return None
    ticket = Ticket(
        organisation_id=record.requester.organisation_id,
        number=record.number,
        title=record.title.strip() or record.number,
        requester=record.requester,
        channel=record.channel,
        impact=record.impact,
        urgency=record.urgency,
        priority=record.priority,
        status=record.status,
        tier=record.tier,
        support_group=record.support_group,
        first_response_at=record.first_response_at,
        resolved_at=record.resolved_at,
        closed_at=record.closed_at,
        reopen_count=record.reopen_count,
        created_at=record.opened_at,
        updated_at=max([record.opened_at, *(c.at for c in record.changes)]),
    )
    _check_references(ticket, {"support_group": record.support_group})
    check_lengths(ticket)
    ticket.save(force_insert=True)
    FieldChange.objects.bulk_create(
        FieldChange(
            organisation_id=ticket.organisation_id,
            ticket=ticket,
            actor_label=record.source or actor.label,
            field=change.field,
            old_value=change.old,
            new_value=change.new,
            created_at=change.at,
            updated_at=change.at,
        )
        for change in record.changes
    )
    _timeline(ticket, actor, TimelineKind.EVENT, event="imported", data={"source": record.source})
    _audit(actor, "ticket.imported", ticket, None, {**_snapshot(ticket), "number": ticket.number})
    return ticket


@transaction.atomic
def add_participants(*, actor: Actor, ticket: Ticket, people: Iterable[tuple[str, str]]) -> list[TicketParticipant]:
    """Copy people (display name, e-mail) on a ticket: they get its public mail and may reply to it.

    The requester and addresses already taking part are skipped; returns those added.
    """
    requester_email = (ticket.requester.email or "").lower()
    known = set(TicketParticipant.objects.filter(ticket=ticket).values_list("email", flat=True))
    added: list[TicketParticipant] = []
    for name, email in people:
        email = email.strip().lower()
        if not email or "@" not in email or email == requester_email or email in known or len(email) > 254:
            continue
        known.add(email)
        added.append(
            TicketParticipant.objects.create(
                organisation_id=ticket.organisation_id, ticket=ticket, email=email, name=name.strip()[:200]
            )
        )
    if added:
        emails = [person.email for person in added]
        _timeline(ticket, actor, TimelineKind.EVENT, event="participants_added", data={"emails": emails})
        _audit(actor, "ticket.participants_added", ticket, None, {"emails": emails})
    return added


@transaction.atomic
def merge_tickets(*, actor: Actor, duplicate: Ticket, survivor: Ticket) -> Ticket:
    """Fold a requester's duplicate ticket into the one that stays: its timeline, attachments and
    participants move over, and the duplicate is cancelled as a duplicate, pointing at the survivor."""
    _require_agent_side(actor, "merge tickets")
    if duplicate.pk == survivor.pk:
        raise DomainError("A ticket cannot be merged into itself.")
    # Lock both in a fixed order, so two merges of the same pair cannot deadlock.
    first, second = sorted([duplicate, survivor], key=lambda t: t.pk)
    locked = {t.pk: _lock(actor, t, None) for t in (first, second)}
    duplicate, survivor = locked[duplicate.pk], locked[survivor.pk]
    if duplicate.requester_id != survivor.requester_id:
        raise DomainError("Only tickets of the same requester can be merged.")
    for ticket in (duplicate, survivor):
        if ticket.status in workflow.TERMINAL:
            raise DomainError(f"Ticket {ticket.number} is {ticket.get_status_display()}; it cannot be merged.")
    moved = TimelineEntry.objects.filter(ticket=duplicate).update(ticket=survivor)
    Attachment.objects.filter(ticket=duplicate).update(ticket=survivor)
    known = set(TicketParticipant.objects.filter(ticket=survivor).values_list("email", flat=True))
    TicketParticipant.objects.filter(ticket=duplicate, email__in=known).delete()
    TicketParticipant.objects.filter(ticket=duplicate).update(ticket=survivor)
    _timeline(
        survivor,
        actor,
        TimelineKind.EVENT,
        event="merged",
        is_public=True,
        data={"duplicate": duplicate.number, "entries_moved": moved},
        body=f"{duplicate.number} ({duplicate.title}) was merged into this ticket.",
    )
    _save(survivor, [])
    before = _snapshot(duplicate)
    now = clock.now()
    duplicate.status, duplicate.resolution_code, duplicate.closed_at = (
        TicketStatus.CANCELLED,
        ResolutionCode.DUPLICATE,
        now,
    )
    duplicate.merged_into = survivor
    _history(duplicate, actor, "status", before["status"], TicketStatus.CANCELLED)
    _timeline(
        duplicate,
        actor,
        TimelineKind.EVENT,
        event="merged_into",
        is_public=True,
        data={"into": survivor.number, "old": before["status"], "new": TicketStatus.CANCELLED},
    )
    _save(duplicate, ["status", "resolution_code", "closed_at", "merged_into"])
    _audit(actor, "ticket.merged", survivor, None, {"duplicate": duplicate.number, "entries_moved": moved})
    _audit(actor, "ticket.merged_into", duplicate, before, {**_snapshot(duplicate), "merged_into": survivor.number})
    announce(duplicate.pk, "merged_into", {"into": survivor.pk})
    announce(survivor.pk, "merged", {"duplicate": duplicate.pk})
    return survivor
