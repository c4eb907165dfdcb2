"""Whether an agent may take a ticket: availability, shift, capacity and training.

Registered with `tickets.assignment` at start-up, so these rules hold for every assignment:
routing's own choice, a supervisor's in the console, an API call.

Each check reads what it needs for one agent (a few queries). Routing weighs a whole group at
once: inside `preloaded(ticket, agents)` the checks read those agents' facts from a handful of
queries made up front instead (same rules, same answers).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db.models import Count, QuerySet

from tierdesk.accounts.choices import Availability
from tierdesk.accounts.models import AgentProfile, TrainingRecord, User
from tierdesk.core import clock
from tierdesk.routing.models import AgentShift, RegulatedScope
from tierdesk.tickets import workflow
from tierdesk.tickets.models import Category, Ticket

if TYPE_CHECKING:
    from tierdesk.sla.models import BusinessCalendar

# Weight of an open ticket in an agent's load, by priority: a P1 counts four P4s.
LOAD_WEIGHT = {1: 4, 2: 3, 3: 2, 4: 1, 5: 1}


@dataclass(frozen=True)
class _Facts:
    """What the checks need about some agents for one ticket, read at one moment."""

    ticket: Ticket
    agent_ids: frozenset[int]
    profiles: dict[int, AgentProfile]  # agents without a profile are missing
    off_shift: frozenset[int]  # agents whose shift calendar says they are not working now
    open_counts: dict[int, int]  # open tickets other than this one, for agents with a capacity
    regimes: frozenset[str]  # the ticket's
    trained: dict[int, set[str]]  # regimes of the ticket each agent holds current training for

    def covers(self, ticket: Ticket, agent: User) -> bool:
        same = ticket is self.ticket or (ticket.pk is not None and ticket.pk == self.ticket.pk)
        return same and agent.pk in self.agent_ids


_preloaded: ContextVar[_Facts | None] = ContextVar("eligibility_facts", default=None)


@contextmanager
def preloaded(ticket: Ticket, agents: Iterable[User]) -> Iterator[None]:
    """Within the block, checks of these agents for this ticket read facts loaded here in bulk.

    For a stretch that only reads (weighing candidates): what the block itself writes is not
    seen. Any other ticket or agent is checked as usual.
    """
    ids = frozenset(agent.pk for agent in agents)
    profiles = {p.user_id: p for p in AgentProfile.objects.filter(user_id__in=ids)}
    shifts = list(
        AgentShift.objects.filter(agent_id__in=ids)
        .select_related("calendar")
        .prefetch_related("calendar__hours", "calendar__custom_holidays")
    )
    working: dict[int, bool] = {}
    for shift in shifts:
        if shift.calendar_id not in working:
            working[shift.calendar_id] = _working_now(shift.calendar)
    capped = [agent_id for agent_id, p in profiles.items() if p.capacity is not None]
    open_counts = (
        dict(
            open_tickets_of_any(capped)
            .exclude(pk=ticket.pk)
            .order_by()
            .values_list("assignee_id")
            .annotate(n=Count("pk"))
        )
        if capped
        else {}
    )
    regimes = frozenset(regimes_for(ticket))
    trained: dict[int, set[str]] = defaultdict(set)
    if regimes:
        for agent_id, regime in _current_training(ids, regimes).values_list("agent_id", "regime"):
            trained[agent_id].add(regime)
    facts = _Facts(
        ticket=ticket,
        agent_ids=ids,
        profiles=profiles,
        off_shift=frozenset(s.agent_id for s in shifts if not working[s.calendar_id]),
        open_counts=open_counts,
        regimes=regimes,
        trained=dict(trained),
    )
    token = _preloaded.set(facts)
    try:
        yield
    finally:
        _preloaded.reset(token)


def _facts_for(ticket: Ticket, agent: User) -> _Facts | None:
    facts = _preloaded.get()
    return facts if facts is not None and facts.covers(ticket, agent) else None


def _profile(agent: User) -> AgentProfile | None:
    return AgentProfile.objects.filter(user=agent).first()


def availability_refusal(ticket: Ticket, agent: User) -> str | None:
    facts = _facts_for(ticket, agent)
    profile = facts.profiles.get(agent.pk) if facts else _profile(agent)
    if profile is not None and profile.availability != Availability.AVAILABLE:
        return f"{agent} is {profile.get_availability_display().lower()}"
    off_shift = agent.pk in facts.off_shift if facts else not on_shift(agent)
    if off_shift:
        return f"{agent} is off shift"
    return None


def on_shift(agent: User) -> bool:
    """Working now by their shift calendar; an agent without one is on shift whenever available."""
    shift = AgentShift.objects.select_related("calendar").filter(agent=agent).first()
    return shift is None or _working_now(shift.calendar)


def _working_now(calendar: BusinessCalendar) -> bool:
    now = clock.now()
    working = calendar.working_time([now.year])
    return working.measure(now, now + timedelta(minutes=1)) > timedelta(0)


def capacity_refusal(ticket: Ticket, agent: User) -> str | None:
    facts = _facts_for(ticket, agent)
    profile = facts.profiles.get(agent.pk) if facts else _profile(agent)
    if profile is None or profile.capacity is None:
        return None
    load = facts.open_counts.get(agent.pk, 0) if facts else open_tickets_of(agent).exclude(pk=ticket.pk).count()
    if load >= profile.capacity:
        return f"{agent} already has {load} open tickets (capacity {profile.capacity})"
    return None


def open_tickets_of(agent: User) -> QuerySet[Ticket]:
    return Ticket.objects.filter(assignee=agent, status__in=workflow.OPEN)


def open_tickets_of_any(agent_ids: Iterable[int]) -> QuerySet[Ticket]:
    return Ticket.objects.filter(assignee_id__in=list(agent_ids), status__in=workflow.OPEN)


def regimes_for(ticket: Ticket) -> set[str]:
    """The compliance regimes the ticket falls under, by its client and category."""
    scopes = list(
        RegulatedScope.objects.filter(client_organisation_id=ticket.organisation_id).prefetch_related("categories")
    )
    if not scopes:
        return set()
    path = _category_path(ticket)
    regimes = set()
    for scope in scopes:
        paths = [c.path for c in scope.categories.all()]
        if not paths or any(path == p or path.startswith(p + " / ") for p in paths):
            regimes.add(scope.regime)
    return regimes


def _category_path(ticket: Ticket) -> str:
    if ticket.category_id is None:
        return ""
    category = ticket.category if ticket.category is not None else Category.objects.get(pk=ticket.category_id)
    return category.path


def _current_training(agent_ids: Iterable[int], regimes: Iterable[str]) -> QuerySet[TrainingRecord]:
    today = clock.now().date()
    return TrainingRecord.objects.filter(
        agent_id__in=list(agent_ids), regime__in=list(regimes), completed_on__lte=today, expires_on__gte=today
    )


def training_refusal(ticket: Ticket, agent: User) -> str | None:
    facts = _facts_for(ticket, agent)
    if facts is not None:
        held = facts.trained.get(agent.pk, set())
        missing = [regime for regime in sorted(facts.regimes) if regime not in held]
    else:
        regimes = sorted(regimes_for(ticket))
        held = set(_current_training([agent.pk], regimes).values_list("regime", flat=True)) if regimes else set()
        missing = [regime for regime in regimes if regime not in held]
    if missing:
        labels = ", ".join(TrainingRecord(regime=r).get_regime_display() for r in missing)
        return f"{agent} has no current {labels} training"
    return None


CHECKS: list[Callable[[Ticket, User], str | None]] = [availability_refusal, capacity_refusal, training_refusal]
