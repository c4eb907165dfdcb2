"""Whether an agent may take a ticket: availability, shift, capacity and training.

Registered with `tickets.assignment` at start-up, so these rules hold for every assignment:
routing's own choice, a supervisor's in the console, an API call.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.db.models import QuerySet

from tierdesk.accounts.choices import Availability
from tierdesk.accounts.models import AgentProfile, TrainingRecord, User
from tierdesk.core import clock
from tierdesk.routing.models import AgentShift, RegulatedScope
from tierdesk.tickets import workflow
from tierdesk.tickets.models import Category, Ticket

# Weight of an open ticket in an agent's load, by priority: a P1 counts four P4s.
LOAD_WEIGHT = {1: 4, 2: 3, 3: 2, 4: 1, 5: 1}


def _profile(agent: User) -> AgentProfile | None:
    return AgentProfile.objects.filter(user=agent).first()


def availability_refusal(ticket: Ticket, agent: User) -> str | None:
    profile = _profile(agent)
    if profile is not None and profile.availability != Availability.AVAILABLE:
        return f"{agent} is {profile.get_availability_display().lower()}"
    if not on_shift(agent):
        return f"{agent} is off shift"
    return None


def on_shift(agent: User) -> bool:
    """Working now by their shift calendar; an agent without one is on shift whenever available."""
    shift = AgentShift.objects.select_related("calendar").filter(agent=agent).first()
    if shift is None:
        return True
    now = clock.now()
    working = shift.calendar.working_time([now.year])
    return working.measure(now, now + timedelta(minutes=1)) > timedelta(0)


def capacity_refusal(ticket: Ticket, agent: User) -> str | None:
    profile = _profile(agent)
    if profile is None or profile.capacity is None:
        return None
    load = open_tickets_of(agent).exclude(pk=ticket.pk).count()
    if load >= profile.capacity:
        return f"{agent} already has {load} open tickets (capacity {profile.capacity})"
    return None


def open_tickets_of(agent: User) -> QuerySet[Ticket]:
    return Ticket.objects.filter(assignee=agent, status__in=workflow.OPEN)


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


def training_refusal(ticket: Ticket, agent: User) -> str | None:
    today = clock.now().date()
    missing = [
        regime
        for regime in sorted(regimes_for(ticket))
        if not TrainingRecord.objects.filter(
            agent=agent, regime=regime, completed_on__lte=today, expires_on__gte=today
        ).exists()
    ]
    if missing:
        labels = ", ".join(TrainingRecord(regime=r).get_regime_display() for r in missing)
        return f"{agent} has no current {labels} training"
    return None


CHECKS: list[Callable[[Ticket, User], str | None]] = [availability_refusal, capacity_refusal, training_refusal]
