"""Stored clocks: policy choice, recompute from events, and a sweep that raises each event once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from tierdesk.audit.models import AuditEvent
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError
from tierdesk.sla import services as sla
from tierdesk.sla.clocks import ClockState
from tierdesk.sla.models import SlaClock, SlaEvent, SlaPolicy, SlaTarget
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World
from tierdesk.tickets import services
from tierdesk.tickets.models import Ticket

MONDAY = datetime(2026, 12, 7, tzinfo=UTC)


def at(hour: int, minute: int = 0, days: int = 0) -> datetime:
    return MONDAY + timedelta(days=days, hours=hour, minutes=minute)


def desk_policy(world: World) -> SlaPolicy:
    system = Actor.system()
    calendar = sla.create_calendar(
        actor=system,
        provider=world.provider,
        name="Office hours",
        timezone="UTC",
        hours=[(weekday, time(8), time(18)) for weekday in range(5)],
    )
    targets = [
        ("first_response", None, 60, [75]),
        ("resolution", None, 8 * 60, [75, 90]),
        ("resolution", 1, 4 * 60, [75]),
        ("tier_1", None, 2 * 60, []),
    ]
    return sla.create_policy(actor=system, provider=world.provider, name="Standard", calendar=calendar, targets=targets)


def test_bad_configuration_is_refused(world: World) -> None:
    with pytest.raises(DomainError, match="time zone"):
        sla.create_calendar(actor=Actor.system(), provider=world.provider, name="X", timezone="Mars/Olympus")
    with pytest.raises(DomainError):
        sla.create_calendar(
            actor=Actor.system(), provider=world.provider, name="Y", timezone="UTC", hours=[(0, time(18), time(8))]
        )


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


def test_console_shows_clocks_and_sorts_breaching_soon_by_due_time(world: World) -> None:
    from django.test import Client

    desk_policy(world)
    later = ticket_at(world, at(11))
    sooner = ticket_at(world, at(9))
    with clock.frozen(at(12)):
        urgent = open_ticket(world.requester, support_group=world.group, impact="high", urgency="high")
    for ticket in (later, sooner, urgent):
        sla.recompute_clocks(ticket.pk, now=at(12))
    browser = Client()
    browser.force_login(world.agent)
    page = browser.get("/console/?queue=breaching").content.decode()
    # Due: sooner's first response at 10:00 (breached), later's at 12:00, urgent's at 13:00.
    assert page.index(sooner.number) < page.index(later.number) < page.index(urgent.number)
    ticket_page = browser.get(f"/console/tickets/{urgent.number}/").content.decode()
    assert 'data-clock="resolution"' in ticket_page and "Service levels" in ticket_page
    assert "Running" in ticket_page


def test_priority_condition_and_tier_clocks_start_at_their_tier(world: World) -> None:
    standard = desk_policy(world)
    urgent_only = sla.create_policy(
        actor=Actor.system(),
        provider=world.provider,
        name="P1 around the clock",
        calendar=standard.calendar,
        order=1,
        priorities=[1],
        targets=[("resolution", None, 60, [])],
    )
    ticket = ticket_at(world, at(9))
    assert sla.policy_for(ticket) == standard
    with clock.frozen(at(9, 5)):
        ticket = services.change_priority(actor=Actor(user=world.agent), ticket=ticket, impact="high", urgency="high")
    assert sla.policy_for(ticket) == urgent_only
    sla.recompute_clocks(ticket.pk, now=at(10))
    assert set(clocks(ticket)) == {"resolution"}  # standard's clocks are cancelled, not shown


def test_a_clock_stopped_before_the_sweep_raises_no_alarm(world: World) -> None:
    desk_policy(world)
    ticket = ticket_at(world, at(9))
    agent = Actor(user=world.agent)
    with clock.frozen(at(9, 30)):
        ticket = services.assign(actor=agent, ticket=ticket, assignee=world.agent)
    with clock.frozen(at(10, 30)):  # resolved half an hour after its first response was due
        services.transition(
            actor=agent, ticket=ticket, to_status="resolved", resolution_code="fixed", resolution_notes="Done"
        )
    sla.recompute_clocks(ticket.pk, now=at(11))
    assert clocks(ticket)["first_response"].state == ClockState.BREACHED  # reports still see it
    assert sla.sweep(now=at(11)) == sla.SweepResult(0, 0)


def test_a_pause_across_the_weekend_counts_neither_the_pause_nor_the_weekend(world: World) -> None:
    desk_policy(world)
    friday = -3
    ticket = ticket_at(world, at(16, days=friday))
    agent = Actor(user=world.agent)
    with clock.frozen(at(17, days=friday)):
        services.transition(actor=agent, ticket=ticket, to_status="pending_customer")
    with clock.frozen(at(10)):  # Monday: the customer answers
        services.transition(actor=agent, ticket=ticket, to_status="in_progress")
    sla.recompute_clocks(ticket.pk, now=at(11))
    resolution = clocks(ticket)["resolution"]
    assert resolution.elapsed_seconds == 2 * 3600  # Friday 16-17 and Monday 10-11
    assert resolution.due_at == at(17)  # 6 h left from Monday 11:00


def test_policy_and_calendar_changed_mid_way_keep_the_time_used(world: World) -> None:
    policy = desk_policy(world)
    ticket = ticket_at(world, at(9))
    sla.recompute_clocks(ticket.pk, now=at(11))
    assert clocks(ticket)["resolution"].due_at == at(17)
    # The contract is renegotiated at 11:00: resolution in 4 h instead of 8.
    policy.targets.filter(kind="resolution", priority=None).update(minutes=4 * 60)
    sla.recompute_clocks(ticket.pk, now=at(11))
    resolution = clocks(ticket)["resolution"]
    assert (resolution.elapsed_seconds, resolution.due_at) == (2 * 3600, at(13))
    # The desk moves to 24x7: the two hours used stay two hours; what remains runs through the night.
    policy.calendar.always_open = True
    policy.calendar.save(update_fields=["always_open"])
    sla.recompute_clocks(ticket.pk, now=at(11))
    assert clocks(ticket)["resolution"].due_at == at(13)
    sla.recompute_clocks(ticket.pk, now=at(12))
    assert clocks(ticket)["resolution"].elapsed_seconds == 3 * 3600  # recomputing twice never double-counts


def test_a_policy_change_rereads_open_clocks_only(world: World) -> None:
    policy = desk_policy(world)
    running = ticket_at(world, at(9))
    done = ticket_at(world, at(9))
    with clock.frozen(at(10)):
        services.transition(
            actor=Actor(user=world.agent),
            ticket=done,
            to_status="resolved",
            resolution_code="fixed",
            resolution_notes="Ok",
        )
    for ticket in (running, done):
        sla.recompute_clocks(ticket.pk, now=at(11))
    policy.targets.filter(kind="resolution", priority=None).update(minutes=60)
    assert sla.recompute_open_clocks(world.provider.pk, now=at(11)) == 1
    assert clocks(running)["resolution"].state == ClockState.BREACHED
    assert clocks(done)["resolution"].state == ClockState.MET  # past compliance is not rewritten


def test_service_levels_are_configured_in_the_admin(world: World, client: Client) -> None:
    desk_policy(world)
    client.force_login(world.admin)
    for page in ("businesscalendar", "slapolicy", "slatarget", "escalationrequest", "slaclock"):
        assert client.get(f"/admin/sla/{page}/").status_code == 200, page
    policy = SlaPolicy.objects.get()
    assert client.get(f"/admin/sla/slapolicy/{policy.pk}/change/").status_code == 200
    assert client.get(f"/admin/sla/businesscalendar/{policy.calendar_id}/change/").status_code == 200
    target = policy.targets.first()
    assert target is not None
    assert client.get(f"/admin/sla/slatarget/{target.pk}/change/").status_code == 200


@pytest.mark.usefixtures("tasks_in_process")
def test_changing_a_target_in_the_admin_is_audited_and_rereads_clocks(
    world: World, client: Client, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    policy = desk_policy(world)
    ticket = ticket_at(world, at(9))
    with clock.frozen(at(11)):
        sla.recompute_clocks(ticket.pk)
    target = policy.targets.get(kind="resolution", priority=None)
    client.force_login(world.admin)
    form = {
        "policy": policy.pk,
        "kind": "resolution",
        "priority": "",
        "minutes": "60",
        "warn_at_percent": "[75]",
        "actions-TOTAL_FORMS": "1",
        "actions-INITIAL_FORMS": "0",
        "actions-0-trigger": "breach",
        "actions-0-action": "notify_supervisor",
        "actions-0-percent": "",
    }
    with clock.frozen(at(11)), django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/sla/slatarget/{target.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert target.actions.get().action == "notify_supervisor"
    assert clocks(ticket)["resolution"].state == ClockState.BREACHED  # 2 h used of the new 1 h
    assert AuditEvent.objects.filter(action="slatarget.slaaction_changed").exists()


def test_hand_off_clocks_start_when_handed_off_and_run_only_meanwhile(world: World) -> None:
    policy = desk_policy(world)
    for kind in ("vendor", "engineering"):
        SlaTarget.objects.create(policy=policy, kind=kind, minutes=8 * 60)
    ticket = ticket_at(world, at(9))
    sla.recompute_clocks(ticket.pk, now=at(10))
    assert not {"vendor", "engineering"} & set(clocks(ticket))  # nobody else holds it yet
    agent = Actor(user=world.agent)
    with clock.frozen(at(10)):
        services.transition(actor=agent, ticket=ticket, to_status="pending_engineering")
    with clock.frozen(at(13)):
        services.transition(actor=agent, ticket=ticket, to_status="in_progress")
    sla.recompute_clocks(ticket.pk, now=at(15))
    c = clocks(ticket)
    assert (c["engineering"].owner, c["engineering"].state, c["engineering"].elapsed_seconds) == (
        "Engineering",
        ClockState.PAUSED,
        3 * 3600,
    )
    assert "vendor" not in c
    assert c["resolution"].elapsed_seconds == 3 * 3600  # 09-10 and 13-15: engineering's time paused it
