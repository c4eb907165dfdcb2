"""SLA clocks derived from a ticket's recorded events: replayable and explainable.

A clock is never a counter that workers increment. It is read from the ticket's status
and tier changes over a business calendar, so a new priority, policy or calendar simply
recomputes it: accumulated time is never lost and never counted twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import models

from tierdesk.sla.calendar import WorkingTime


class ClockState(models.TextChoices):
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    MET = "met", "Met"
    BREACHED = "breached", "Breached"
    CANCELLED = "cancelled", "Cancelled"


@dataclass(frozen=True)
class TicketEvent:
    """What the ticket looked like from `at` on: its status and tier after a change."""

    at: datetime
    status: str
    tier: int = 1


@dataclass(frozen=True)
class ClockRule:
    """When one clock runs. `tier` set: the clock of that tier only (an OLA between groups)."""

    target: timedelta
    pause_statuses: frozenset[str]
    stop_statuses: frozenset[str]
    cancel_statuses: frozenset[str] = frozenset()
    tier: int | None = None
    # Set: the clock runs only in these statuses (the vendor's clock runs while pending vendor).
    run_statuses: frozenset[str] | None = None


@dataclass(frozen=True)
class ClockReading:
    state: str
    elapsed: timedelta
    remaining: timedelta
    due_at: datetime | None  # when it breaches (running) or breached; None while paused or stopped in time
    stopped_at: datetime | None = None


def read_clock(rule: ClockRule, calendar: WorkingTime, events: Sequence[TicketEvent], now: datetime) -> ClockReading:
    """Replay the events up to `now` and say where the clock stands."""
    ordered = sorted((e for e in events if e.at <= now), key=lambda e: e.at)
    if not ordered:
        raise ValueError("A clock needs at least the event that opened the ticket.")
    elapsed = timedelta(0)
    breached_at: datetime | None = None
    for current, following in zip(ordered, [*ordered[1:], None], strict=True):
        end = following.at if following is not None else now
        if not _runs(rule, current):
            continue
        segment = calendar.measure(current.at, end)
        if breached_at is None and elapsed + segment > rule.target:
            breached_at = calendar.add(current.at, rule.target - elapsed)
        elapsed += segment

    last = ordered[-1]
    remaining = max(rule.target - elapsed, timedelta(0))
    if last.status in rule.cancel_statuses:
        return ClockReading(ClockState.CANCELLED, elapsed, remaining, None, last.at)
    if last.status in rule.stop_statuses:
        state = ClockState.BREACHED if breached_at is not None else ClockState.MET
        return ClockReading(state, elapsed, remaining, breached_at, last.at)
    if breached_at is not None:
        return ClockReading(ClockState.BREACHED, elapsed, remaining, breached_at)
    if not _runs(rule, last):
        return ClockReading(ClockState.PAUSED, elapsed, remaining, None)
    return ClockReading(ClockState.RUNNING, elapsed, remaining, calendar.add(now, remaining))


def _runs(rule: ClockRule, event: TicketEvent) -> bool:
    if rule.run_statuses is not None:
        return event.status in rule.run_statuses
    if event.status in rule.pause_statuses | rule.stop_statuses | rule.cancel_statuses:
        return False
    return rule.tier is None or event.tier == rule.tier
