"""Writers of SLA clocks and events: recompute a ticket's clocks, and sweep for warnings and breaches."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import IntegrityError, models, transaction

from tierdesk.accounts.choices import Availability, Role
from tierdesk.accounts.models import GroupMembership, User
from tierdesk.audit.services import record_event
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError
from tierdesk.sla.calendar import WorkingTime, WorkingWindow, public_holidays
from tierdesk.sla.clocks import ClockReading, ClockRule, ClockState, TicketEvent, read_clock
from tierdesk.sla.events import announce_alarm, announce_escalation_request
from tierdesk.sla.models import (
    BusinessCalendar,
    EscalationRequest,
    SlaAction,
    SlaClock,
    SlaEvent,
    SlaPolicy,
    SlaTarget,
    TargetKind,
    WorkingHours,
)
from tierdesk.tenancy.models import Organisation
from tierdesk.tickets import services as tickets
from tierdesk.tickets import workflow
from tierdesk.tickets.choices import Level, TicketStatus
from tierdesk.tickets.models import FieldChange, Ticket

logger = logging.getLogger(__name__)

DEFAULT_PAUSE = [TicketStatus.PENDING_CUSTOMER, TicketStatus.PENDING_VENDOR, TicketStatus.PENDING_ENGINEERING]
STOPPED = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED})
CANCELLED = frozenset({TicketStatus.CANCELLED})
RESPONDED = "responded"  # a marker event: the first public reply stops the first-response clock
# Underpinning clocks run only while another party holds the ticket.
HANDOFF_RUNS = {
    TargetKind.VENDOR: frozenset({TicketStatus.PENDING_VENDOR}),
    TargetKind.ENGINEERING: frozenset({TicketStatus.PENDING_ENGINEERING}),
}
HANDOFF_OWNERS = {TargetKind.VENDOR: "Vendor", TargetKind.ENGINEERING: "Engineering"}
TIER_KINDS = {TargetKind.TIER_1: 1, TargetKind.TIER_2: 2, TargetKind.TIER_3: 3, TargetKind.TIER_4: 4}


def _one(rows: models.QuerySet[Any]) -> Any:
    """The row of a primary-key lookup, or None; unlike first(), without an ORDER BY to build."""
    return next(iter(rows), None)


class SlaSettings:
    """Policies, calendars and targets, read once per run (a sweep, a replay, a policy change).

    A run handles many tickets under few policies; reading the configuration once per run
    instead of once per ticket is most of what a recompute costs. One run sees one version
    of the configuration; the next run sees any change.
    """

    def __init__(self) -> None:
        self._policies: dict[int, list[SlaPolicy]] = {}
        self._working: dict[tuple[int, int, int], WorkingTime] = {}
        self._targets: dict[tuple[int, int], dict[str, SlaTarget]] = {}

    def policies(self, provider_id: int) -> list[SlaPolicy]:
        if provider_id not in self._policies:
            self._policies[provider_id] = list(
                SlaPolicy.objects.filter(organisation_id=provider_id, is_active=True)
                .select_related("calendar")
                .prefetch_related("client_organisations", "categories", "calendar__hours", "calendar__custom_holidays")
            )
        return self._policies[provider_id]

    def working_time(self, calendar: BusinessCalendar, first_year: int, last_year: int) -> WorkingTime:
        key = (calendar.pk, first_year, last_year)
        if key not in self._working:
            self._working[key] = calendar.working_time(range(first_year, last_year + 1))
        return self._working[key]

    def targets(self, policy: SlaPolicy, priority: int) -> dict[str, SlaTarget]:
        """One target per kind: the one for this priority, else the one for any priority."""
        key = (policy.pk, priority)
        if key not in self._targets:
            chosen: dict[str, SlaTarget] = {}
            for target in policy.targets.filter(models.Q(priority=priority) | models.Q(priority__isnull=True)):
                if target.kind not in chosen or target.priority is not None:
                    chosen[target.kind] = target
            self._targets[key] = chosen
        return self._targets[key]


def policy_for(ticket: Ticket, settings: SlaSettings | None = None) -> SlaPolicy | None:
    """The first active policy, by order, whose conditions the ticket meets (empty = any)."""
    provider_id = ticket.organisation.provider_id or ticket.organisation_id
    for policy in (settings or SlaSettings()).policies(provider_id):
        if policy.ticket_type and policy.ticket_type != ticket.ticket_type:
            continue
        clients = {o.pk for o in policy.client_organisations.all()}
        categories = {c.pk for c in policy.categories.all()}
        if clients and ticket.organisation_id not in clients:
            continue
        if categories and ticket.category_id not in categories:
            continue
        if policy.priorities and ticket.priority not in policy.priorities:
            continue
        return policy
    return None


def ticket_events(ticket: Ticket) -> list[TicketEvent]:
    """The ticket's status and tier over time, from its field history."""
    changes = list(FieldChange.objects.filter(ticket=ticket, field__in=["status", "tier"]).order_by("created_at", "id"))
    first_status = next((c.old_value for c in changes if c.field == "status"), ticket.status)
    first_tier = next((c.old_value for c in changes if c.field == "tier"), str(ticket.tier))
    status, tier = first_status, int(first_tier or 1)
    events = [TicketEvent(ticket.created_at, status, tier)]
    for change in changes:
        if change.field == "status":
            status = change.new_value
        else:
            tier = int(change.new_value or tier)
        events.append(TicketEvent(change.created_at, status, tier))
    return events


def _rule(kind: str, target: SlaTarget, pause: frozenset[str]) -> ClockRule:
    minutes = timedelta(minutes=target.minutes)
    if kind == TargetKind.FIRST_RESPONSE:
        return ClockRule(minutes, frozenset(), STOPPED | {RESPONDED}, CANCELLED)
    if kind in HANDOFF_RUNS:
        return ClockRule(minutes, frozenset(), STOPPED, CANCELLED, run_statuses=HANDOFF_RUNS[kind])  # type: ignore[index]
    return ClockRule(minutes, pause, STOPPED, CANCELLED, tier=TIER_KINDS.get(kind))  # type: ignore[call-overload]


def _events_for(kind: str, ticket: Ticket, events: list[TicketEvent]) -> list[TicketEvent]:
    if kind != TargetKind.FIRST_RESPONSE or ticket.first_response_at is None:
        return events
    return [*(e for e in events if e.at < ticket.first_response_at), TicketEvent(ticket.first_response_at, RESPONDED)]


def _owner(kind: str, ticket: Ticket) -> str:
    if kind in TIER_KINDS:
        return f"Tier {TIER_KINDS[kind]}"  # type: ignore[index]
    if kind in HANDOFF_OWNERS:
        return HANDOFF_OWNERS[kind]  # type: ignore[index]
    return ticket.support_group.name if ticket.support_group else "Service desk"


def _next_warning(
    reading: ClockReading, target: SlaTarget, working: WorkingTime, now: datetime, warned: int
) -> tuple[datetime | None, int | None]:
    """The next threshold not yet raised; one already crossed is due now, so none is skipped."""
    if reading.state != ClockState.RUNNING:
        return None, None
    total = timedelta(minutes=target.minutes)
    for percent in sorted(int(p) for p in target.warn_at_percent or [] if int(p) > warned):
        threshold = total * percent / 100
        due = now if reading.elapsed >= threshold else working.add(now, threshold - reading.elapsed)
        return due, percent
    return None, None


@transaction.atomic
def recompute_clocks(
    ticket_id: int, *, now: datetime | None = None, historic: bool = False, settings: SlaSettings | None = None
) -> list[SlaClock]:
    """Read every clock of the ticket from its events and store the readings that changed.

    Idempotent and safe to repeat: the stored rows are a cache of what the events say.
    `historic`: an imported ticket of another desk; its clocks are read but raise no alarms.
    """
    settings = settings or SlaSettings()
    now = now or clock.now()
    ticket = _one(Ticket.objects.select_related("organisation", "support_group").filter(pk=ticket_id))
    if ticket is None:
        return []
    # A worker whose clock lags the web server's may read a ticket "before" it was opened.
    now = max(now, ticket.created_at)
    existing = {row.kind: row for row in SlaClock.objects.select_for_update().filter(ticket=ticket)}
    policy = policy_for(ticket, settings)
    targets: dict[str, SlaTarget] = {}
    stored = []
    if policy is not None:
        working = settings.working_time(policy.calendar, ticket.created_at.year, now.year + 1)
        pause = frozenset(policy.pause_statuses or DEFAULT_PAUSE)
        events = ticket_events(ticket)
        # A tier's clock exists once the ticket has been at that tier; a hand-off's once it was handed off.
        visited = {event.tier for event in events}
        statuses = {event.status for event in events}
        targets = {
            k: t
            for k, t in settings.targets(policy, ticket.priority).items()
            if (k not in TIER_KINDS or TIER_KINDS[k] in visited)  # type: ignore[index]
            and (k not in HANDOFF_RUNS or HANDOFF_RUNS[k] & statuses)  # type: ignore[index]
        }
        for kind, target in targets.items():
            row = existing.get(kind)
            reading = read_clock(_rule(kind, target, pause), working, _events_for(kind, ticket, events), now)
            warned = 100 if historic else row.warned_percent if row is not None else 0
            warn_at, warn_percent = _next_warning(reading, target, working, now, warned)
            values: dict[str, Any] = {
                "organisation_id": ticket.organisation_id,
                "policy_id": policy.pk,
                "owner": _owner(kind, ticket),
                "state": reading.state,
                "target_seconds": target.minutes * 60,
                "elapsed_seconds": int(reading.elapsed.total_seconds()),
                "due_at": reading.due_at,
                "stopped_at": reading.stopped_at,
                "next_warning_at": warn_at,
                "next_warning_percent": warn_percent,
            }
            if historic:
                values.update(breach_raised=True, warned_percent=100)
            stored.append(_store(ticket, kind, row, values, now))
    for kind, row in existing.items():
        if kind not in targets and row.state != ClockState.CANCELLED:
            _store(ticket, kind, row, {"state": ClockState.CANCELLED, "due_at": None, "next_warning_at": None}, now)
    return stored


def _store(ticket: Ticket, kind: str, row: SlaClock | None, values: dict[str, Any], now: datetime) -> SlaClock:
    """Insert the clock, or update only the fields whose reading moved (most recomputes move none)."""
    if row is None:
        row = SlaClock(ticket=ticket, kind=kind, computed_at=now, **values)
        row.save(force_insert=True)
        return row
    changed = [name for name, value in values.items() if getattr(row, name) != value]
    if changed:
        for name in changed:
            setattr(row, name, values[name])
        row.computed_at = now
        row.save(update_fields=[*changed, "computed_at"])
    return row


def recompute_open_clocks(provider_id: int, *, now: datetime | None = None) -> int:
    """Re-read the clocks of every open ticket of a provider's clients (after a policy or calendar change).

    Resolved tickets keep their readings: a new contract does not rewrite past compliance.
    """
    clients = Organisation.objects.of_provider(provider_id).values_list("pk", flat=True)
    ids = list(
        Ticket.objects.filter(organisation_id__in=list(clients), status__in=workflow.OPEN)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    settings = SlaSettings()
    for ticket_id in ids:
        recompute_clocks(ticket_id, now=now, settings=settings)
    return len(ids)


@dataclass
class SweepResult:
    warnings: int = 0
    breaches: int = 0


def sweep(*, now: datetime | None = None, batch: int = 500) -> SweepResult:
    """Raise each due warning and breach exactly once, even with several sweepers at once.

    The unique (clock, kind, percent) constraint decides who raises an event: a second
    sweeper's insert fails inside its savepoint and it moves on.
    """
    now = now or clock.now()
    result = SweepResult()
    settings = SlaSettings()
    for clock_id in list(SlaClock.objects.due_for_sweep(now).values_list("pk", flat=True)[:batch]):
        raised = _raise_due(clock_id, now, settings)
        if raised == SlaEvent.Kind.BREACH:
            result.breaches += 1
        elif raised == SlaEvent.Kind.WARNING:
            result.warnings += 1
    return result


def _raise_due(clock_id: int, now: datetime, settings: SlaSettings) -> str | None:
    try:
        with transaction.atomic():
            row = _one(SlaClock.objects.select_related("ticket", "policy").select_for_update().filter(pk=clock_id))
            if row is None:
                return None
            if not row.breach_raised and row.due_at is not None and row.due_at <= now:
                kind, percent = SlaEvent.Kind.BREACH, 100
                row.breach_raised = True
            elif row.state == ClockState.RUNNING and row.next_warning_at and row.next_warning_at <= now:
                kind, percent = SlaEvent.Kind.WARNING, row.next_warning_percent or 0
                row.warned_percent = percent
            else:
                return None  # another sweeper got here first
            event = SlaEvent.objects.create(organisation_id=row.organisation_id, clock=row, kind=kind, percent=percent)
            row.save(update_fields=["breach_raised", "warned_percent"])
            tickets.record_system_event(
                actor=Actor.system(via="sla"),
                ticket=row.ticket,
                event=f"sla_{kind}",
                data={"clock": row.get_kind_display(), "owner": row.owner, "percent": percent},
            )
            run_actions(event, settings)
            # Moves the clock on to its next warning or to breached, in the same transaction.
            recompute_clocks(row.ticket_id, now=now, settings=settings)
    except IntegrityError:
        return None  # another sweeper raised it first
    if kind == SlaEvent.Kind.BREACH:
        logger.info("SLA breach: %s clock of ticket %s", row.kind, row.ticket.number)
    return kind


def _target_of(clock_row: SlaClock, settings: SlaSettings) -> SlaTarget | None:
    return settings.targets(clock_row.policy, clock_row.ticket.priority).get(clock_row.kind)


def run_actions(event: SlaEvent, settings: SlaSettings | None = None) -> list[str]:
    """Carry out the target's actions for this warning or breach; returns what was done.

    Runs inside the transaction that raised the event, so the actions happen once with it.
    An action that cannot be carried out (e.g. the group no longer serves the client) is
    recorded on the ticket and does not undo the breach or the other actions.
    """
    clock_row = event.clock
    target = _target_of(clock_row, settings or SlaSettings())
    if target is None:
        return []
    done: list[str] = []
    recipients: set[int] = set()
    actor = Actor.system(via="sla")
    for action in target.actions.select_related("reassign_to"):
        if not action.applies_to(event.kind, event.percent):
            continue
        ticket = Ticket.objects.select_related("support_group").get(pk=clock_row.ticket_id)
        try:
            if action.action in NOTIFY:
                recipients |= _recipients(action.action, ticket)
            elif action.action == SlaAction.Kind.REASSIGN:
                tickets.assign(actor=actor, ticket=ticket, assignee=None, support_group=action.reassign_to)
            elif action.action == SlaAction.Kind.RAISE_PRIORITY:
                raised = _raised(ticket.impact, ticket.urgency)
                if raised is not None:
                    tickets.change_priority(actor=actor, ticket=ticket, impact=raised[0], urgency=raised[1])
            elif action.action == SlaAction.Kind.ESCALATE:
                request_escalation(
                    ticket=ticket,
                    clock_row=clock_row,
                    reason=f"SLA {event.kind}: {clock_row.get_kind_display()} ({clock_row.owner})",
                )
        except DomainError as exc:
            tickets.record_system_event(
                actor=actor,
                ticket=ticket,
                event="sla_action_failed",
                data={"action": action.get_action_display(), "reason": str(exc)},
            )
            continue
        done.append(action.action)
    if recipients:
        announce_alarm(event.pk, clock_row.ticket_id, sorted(recipients))
    return done


NOTIFY = frozenset({SlaAction.Kind.NOTIFY_ASSIGNEE, SlaAction.Kind.NOTIFY_GROUP_LEAD, SlaAction.Kind.NOTIFY_SUPERVISOR})
RAISE_ORDER = [Level.LOW, Level.MEDIUM, Level.HIGH]


def _raised(impact: str, urgency: str) -> tuple[str, str] | None:
    """One step up the priority matrix: urgency first, then impact; None when both are high."""
    if urgency != Level.HIGH:
        return impact, RAISE_ORDER[RAISE_ORDER.index(Level(urgency)) + 1]
    if impact != Level.HIGH:
        return RAISE_ORDER[RAISE_ORDER.index(Level(impact)) + 1], urgency
    return None


def _recipients(kind: str, ticket: Ticket) -> set[int]:
    if kind == SlaAction.Kind.NOTIFY_ASSIGNEE:
        return {ticket.assignee_id} if ticket.assignee_id else set()
    if kind == SlaAction.Kind.NOTIFY_GROUP_LEAD:
        if ticket.support_group_id is None:
            return set()
        leads = GroupMembership.objects.filter(group_id=ticket.support_group_id, is_lead=True, agent__is_active=True)
        return set(leads.values_list("agent_id", flat=True))
    supervisors = User.objects.agents_of(ticket.organisation.provider_id or ticket.organisation_id)
    # The supervisors on duty: not those marked away or off (shift calendars are routing's to read).
    on_duty = supervisors.filter(role=Role.SUPERVISOR).exclude(
        agent_profile__availability__in=[Availability.AWAY, Availability.OFF]
    )
    return set(on_duty.values_list("pk", flat=True))


def request_escalation(*, ticket: Ticket, clock_row: SlaClock | None, reason: str) -> EscalationRequest | None:
    """Record that the ticket should go up a tier; the routing service carries it out.

    One open request per ticket and tier: a second breach asks for nothing new.
    """
    if ticket.tier >= 4:
        raise DomainError(f"Ticket {ticket.number} is already at Tier 4.")
    to_tier = ticket.tier + 1
    if EscalationRequest.objects.filter(ticket=ticket, to_tier=to_tier, state=EscalationRequest.State.OPEN).exists():
        return None
    request = EscalationRequest.objects.create(
        organisation_id=ticket.organisation_id,
        ticket=ticket,
        clock=clock_row,
        from_tier=ticket.tier,
        to_tier=to_tier,
        reason=reason[:250],
    )
    tickets.record_system_event(
        actor=Actor.system(via="sla"),
        ticket=ticket,
        event="escalation_requested",
        data={"from_tier": ticket.tier, "to_tier": to_tier, "reason": request.reason},
    )
    announce_escalation_request(request.pk, ticket.pk)
    return request


@transaction.atomic
def close_escalation_request(*, request_id: int, done: bool, note: str = "") -> EscalationRequest | None:
    """Routing's answer to a request: carried out, or declined (with why). Idempotent."""
    request = EscalationRequest.objects.select_for_update().filter(pk=request_id).first()
    if request is None or request.state != EscalationRequest.State.OPEN:
        return request
    request.state = EscalationRequest.State.DONE if done else EscalationRequest.State.DECLINED
    request.updated_at = clock.now()
    request.save(update_fields=["state", "updated_at"])
    record_event(
        actor=Actor.system(via="routing"),
        action=f"escalation_request.{request.state}",
        obj=request,
        organisation_id=request.organisation_id,
        after={"ticket": request.ticket_id, "to_tier": request.to_tier, "note": note[:250]},
    )
    return request


@transaction.atomic
def add_action(
    *, actor: Actor, target: SlaTarget, trigger: str, action: str, percent: int | None = None, reassign_to: Any = None
) -> SlaAction:
    """An action on a target's warning or breach (e.g. notify the group lead at 75 %)."""
    if trigger not in SlaAction.Trigger.values or action not in SlaAction.Kind.values:
        raise DomainError(f"Unknown trigger or action: {trigger!r}, {action!r}.")
    if action == SlaAction.Kind.REASSIGN and reassign_to is None:
        raise DomainError("Reassigning needs the support group to reassign to.")
    if reassign_to is not None and reassign_to.organisation_id != target.policy.organisation_id:
        raise DomainError("The support group belongs to another provider.")
    if trigger == SlaAction.Trigger.WARNING and percent is not None and percent not in (target.warn_at_percent or []):
        raise DomainError(f"The target warns at {target.warn_at_percent or 'no threshold'}, not at {percent} %.")
    created = SlaAction.objects.create(
        target=target, trigger=trigger, action=action, percent=percent, reassign_to=reassign_to
    )
    record_event(
        actor=actor,
        action="sla_action.created",
        obj=created,
        organisation_id=target.policy.organisation_id,
        after={"target": str(target), "trigger": trigger, "action": action, "percent": percent},
    )
    return created


@transaction.atomic
def create_calendar(
    *,
    actor: Actor,
    provider: Organisation,
    name: str,
    timezone: str,
    hours: Iterable[tuple[int, time, time | None]] = (),
    holiday_country: str = "",
    holiday_subdivision: str = "",
    always_open: bool = False,
) -> BusinessCalendar:
    """A business calendar of the provider; working hours as (weekday, start, end or None)."""
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise DomainError(f"Unknown time zone {timezone!r}.") from exc
    calendar = BusinessCalendar.objects.create(
        organisation=provider,
        name=name,
        timezone=timezone,
        always_open=always_open,
        holiday_country=holiday_country,
        holiday_subdivision=holiday_subdivision,
    )
    for weekday, start, end in hours:
        WorkingWindow(weekday, start, end)  # validates
        WorkingHours.objects.create(calendar=calendar, weekday=weekday, start=start, end=end)
    if holiday_country:
        public_holidays(holiday_country, [clock.now().year], holiday_subdivision or None)  # validates
    record_event(
        actor=actor,
        action="sla_calendar.created",
        obj=calendar,
        organisation_id=provider.pk,
        after={"name": name, "timezone": timezone, "always_open": always_open},
    )
    return calendar


@transaction.atomic
def create_policy(
    *,
    actor: Actor,
    provider: Organisation,
    name: str,
    calendar: BusinessCalendar,
    targets: Iterable[tuple[str, int | None, int, list[int]]],
    order: int = 100,
    clients: Iterable[Organisation] = (),
    ticket_type: str = "",
    priorities: Iterable[int] = (),
) -> SlaPolicy:
    """An SLA policy; targets as (kind, priority or None for any, business minutes, warn percents)."""
    if calendar.organisation_id != provider.pk:
        raise DomainError("The calendar belongs to another provider.")
    policy = SlaPolicy.objects.create(
        organisation=provider,
        name=name,
        calendar=calendar,
        order=order,
        ticket_type=ticket_type,
        pause_statuses=list(DEFAULT_PAUSE),
        priorities=sorted(set(priorities)),
    )
    policy.client_organisations.set(list(clients))
    for kind, priority, minutes, warn in targets:
        if kind not in TargetKind.values or minutes <= 0:
            raise DomainError(f"A target needs a known kind and a positive duration, not {kind!r}/{minutes}.")
        SlaTarget.objects.create(policy=policy, kind=kind, priority=priority, minutes=minutes, warn_at_percent=warn)
    record_event(
        actor=actor,
        action="sla_policy.created",
        obj=policy,
        organisation_id=provider.pk,
        after={"name": name, "calendar": calendar.name, "targets": len(list(policy.targets.all()))},
    )
    return policy
