"""Eligibility read agent by agent or preloaded for a group: the same answers, and no queries per member."""

from __future__ import annotations

from datetime import date, time

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tierdesk.accounts import services as accounts
from tierdesk.accounts.models import SupportGroup, User
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.routing import eligibility
from tierdesk.routing import services as routing
from tierdesk.sla import services as sla
from tierdesk.sla.tests.test_services import at
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World
from tierdesk.tickets import assignment
from tierdesk.tickets import services as tickets

SYSTEM = Actor.system()


def _agent(world: World, name: str, **routing_settings: object) -> User:
    person = accounts.create_agent(
        actor=SYSTEM, provider=world.provider, email=f"{name}@northwind.test", full_name=name.title(), password=None
    )
    if routing_settings:
        accounts.set_agent_routing(actor=SYSTEM, agent=person, **routing_settings)  # type: ignore[arg-type]
    return person


def _group(world: World, name: str, members: list[User]) -> SupportGroup:
    return accounts.create_support_group(
        actor=SYSTEM,
        provider=world.provider,
        name=name,
        tier=1,
        serves=[world.client, world.other_client],
        members=[(m, False) for m in members],
    )


def test_preloaded_facts_give_the_same_refusals(world: World) -> None:
    nights = sla.create_calendar(
        actor=SYSTEM,
        provider=world.provider,
        name="Nights",
        timezone="UTC",
        hours=[(d, time(22), None) for d in range(7)],
    )
    agents = [
        _agent(world, "plain"),
        _agent(world, "away", availability="away"),
        _agent(world, "full", capacity=1),
        _agent(world, "roomy", capacity=5),
        _agent(world, "night"),
        _agent(world, "trained"),
        _agent(world, "expired"),
    ]
    full, roomy, night, trained, expired = agents[2:]
    routing.set_agent_shift(actor=SYSTEM, agent=night, calendar=nights)
    accounts.record_training(
        actor=SYSTEM, agent=trained, regime="hipaa", completed_on=date(2026, 1, 1), expires_on=date(2027, 12, 31)
    )
    accounts.record_training(
        actor=SYSTEM, agent=expired, regime="hipaa", completed_on=date(2024, 1, 1), expires_on=date(2025, 1, 1)
    )
    routing.create_regulated_scope(actor=SYSTEM, client=world.client, regime="hipaa")
    desk = _group(world, "Eligibility desk", agents)
    bank_requester = world.other_requester_user.requester_profile
    with clock.frozen(at(10)):  # Monday 10:00 UTC: the night shift is off
        held = [open_ticket(bank_requester, support_group=desk) for _ in (full, roomy)]
        for ticket, agent in zip(held, (full, roomy), strict=True):
            tickets.assign(actor=SYSTEM, ticket=ticket, assignee=agent)
        regulated = open_ticket(world.requester, title="EHR slow", support_group=desk)
        unregulated = open_ticket(bank_requester, title="Printer jam", support_group=desk)
        answers = {}
        for ticket in (regulated, unregulated, held[0]):
            one_by_one = {str(a): assignment.refusals(ticket, a) for a in agents}
            with eligibility.preloaded(ticket, agents):
                preloaded = {str(a): assignment.refusals(ticket, a) for a in agents}
            assert preloaded == one_by_one
            answers[ticket.pk] = preloaded
    assert answers[unregulated.pk] == {  # no training needed
        "Plain": [],
        "Away": ["Away is away"],
        "Full": ["Full already has 1 open tickets (capacity 1)"],
        "Roomy": [],
        "Night": ["Night is off shift"],
        "Trained": [],
        "Expired": [],
    }
    assert answers[regulated.pk]["Trained"] == []
    assert answers[regulated.pk]["Expired"] == ["Expired has no current HIPAA training"]
    # The ticket an agent already holds does not count against their capacity.
    assert answers[held[0].pk]["Full"] == []


def test_weighing_a_group_costs_the_same_queries_whatever_its_size(world: World) -> None:
    routing.create_regulated_scope(actor=SYSTEM, client=world.client, regime="hipaa")

    def queries_for(size: int) -> int:
        members = [_agent(world, f"g{size}m{i}", capacity=3 if i == 0 else None) for i in range(size)]
        group = _group(world, f"Desk of {size}", members)
        ticket = open_ticket(world.requester, support_group=group)
        with CaptureQueriesContext(connection) as queries:
            routing._candidates(group, ticket)
        return len(queries)

    assert queries_for(3) == queries_for(12)
