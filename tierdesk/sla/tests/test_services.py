"""Stored clocks: policy choice, recompute from events, and a sweep that raises each event once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta

import pytest
from django.db import connection

from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.sla import services as sla
from tierdesk.sla.clocks import ClockState
from tierdesk.sla.models import BusinessCalendar, SlaClock, SlaEvent, SlaPolicy, SlaTarget, WorkingHours
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World
from tierdesk.tickets import services
from tierdesk.tickets.models import Ticket

MONDAY = datetime(2026, 12, 7, tzinfo=UTC)


def at(hour: int, minute: int = 0, days: int = 0) -> datetime:
    return MONDAY + timedelta(days=days, hours=hour, minutes=minute)


def desk_policy(world: World, **conditions: object) -> SlaPolicy:
    calendar = BusinessCalendar.objects.create(organisation=world.provider, name="Office hours", timezone="UTC")
    for weekday in range(5):
        WorkingHours.objects.create(calendar=calendar, weekday=weekday, start=time(8), end=time(18))
    policy = SlaPolicy.objects.create(organisation=world.provider, name="Standard", calendar=calendar, **conditions)
    SlaTarget.objects.create(policy=policy, kind="first_response", minutes=60, warn_at_percent=[75])
    SlaTarget.objects.create(policy=policy, kind="resolution", minutes=8 * 60, warn_at_percent=[75, 90])
    SlaTarget.objects.create(policy=policy, kind="resolution", priority=1, minutes=4 * 60, warn_at_percent=[75])
    SlaTarget.objects.create(policy=policy, kind="tier_1", minutes=2 * 60)
    return policy


def ticket_at(world: World, when: datetime, **kwargs: object) -> Ticket:
    with clock.frozen(when):
        return open_ticket(world.requester, support_group=world.group, **kwargs)


def clocks(ticket: Ticket) -> dict[str, SlaClock]:
    return {c.kind: c for c in SlaClock.objects.filter(ticket=ticket)}


def test_policy_conditions(world: World) -> None:
    policy = desk_policy(world)
    ticket = ticket_at(world, at(9))
    assert sla.policy_for(ticket) == policy
    policy.client_organisations.set([world.other_client])
    assert sla.policy_for(ticket) is None


def test_clocks_follow_the_ticket(world: World) -> None:
    desk_policy(world)
    ticket = ticket_at(world, at(9))
    sla.recompute_clocks(ticket.pk, now=at(10))
    c = clocks(ticket)
    assert c["resolution"].due_at == at(17) and c["resolution"].state == ClockState.RUNNING
    assert c["first_response"].due_at == at(10) and c["tier_1"].owner == "Tier 1"
    assert c["resolution"].next_warning_at == at(15) and c["resolution"].next_warning_percent == 75

    agent = Actor(user=world.agent)
    with clock.frozen(at(10, 30)):
        ticket = services.assign(actor=agent, ticket=ticket, assignee=world.agent)
        services.reply(actor=agent, ticket=ticket, body="Looking")
    with clock.frozen(at(11)):
        services.transition(actor=agent, ticket=ticket, to_status="pending_customer")
    sla.recompute_clocks(ticket.pk, now=at(9, days=1))
    c = clocks(ticket)
    assert c["first_response"].state == ClockState.BREACHED  # answered after 90 of 60 minutes
    assert c["resolution"].state == ClockState.PAUSED and c["resolution"].elapsed_seconds == 2 * 3600
    assert c["resolution"].due_at is None


def test_priority_raised_mid_way_keeps_the_time_used(world: World) -> None:
    desk_policy(world)
    ticket = ticket_at(world, at(9))
    with clock.frozen(at(11)):
        services.change_priority(actor=Actor(user=world.agent), ticket=ticket, impact="high", urgency="high")
    sla.recompute_clocks(ticket.pk, now=at(11))
    resolution = clocks(ticket)["resolution"]
    assert (resolution.target_seconds, resolution.elapsed_seconds) == (4 * 3600, 2 * 3600)
    assert resolution.due_at == at(13)


def test_sweep_raises_each_warning_and_breach_once(world: World) -> None:
    desk_policy(world)
    ticket = ticket_at(world, at(9))
    sla.recompute_clocks(ticket.pk, now=at(9))
    assert sla.sweep(now=at(9, 30)).warnings == 0
    first = sla.sweep(now=at(9, 50))  # first response: 75 % of 60 minutes
    assert (first.warnings, first.breaches) == (1, 0)
    assert sla.sweep(now=at(9, 50)) == sla.SweepResult(0, 0)
    breach = sla.sweep(now=at(10, 1))
    assert breach.breaches == 1
    assert SlaEvent.objects.filter(kind="breach").count() == 1
    assert ticket.timeline.filter(event="sla_breach").count() == 1
    assert clocks(ticket)["first_response"].state == ClockState.BREACHED


@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_raise_one_breach_per_clock(world: World) -> None:
    desk_policy(world)
    tickets = [ticket_at(world, at(9)) for _ in range(6)]
    for t in tickets:
        sla.recompute_clocks(t.pk, now=at(9))
    barrier = threading.Barrier(2)
    results: list[sla.SweepResult] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(sla.sweep(now=at(20)))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # Each ticket's first-response, resolution and tier 1 clocks breached by 20:00: once each.
    assert SlaEvent.objects.filter(kind="breach").count() == 3 * len(tickets)
    assert sum(r.breaches for r in results) == 3 * len(tickets)
