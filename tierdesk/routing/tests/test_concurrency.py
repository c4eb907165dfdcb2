"""Round-robin and least-loaded stay fair and within capacity when several workers assign at once.

Four threads, each with its own database connection, call `auto_assign` over disjoint slices of
one group's queue at the same time, as four task workers would. With room to spare, PostgreSQL
takes the full 1,000 tickets; SQLite, which serialises writers anyway (BEGIN IMMEDIATE), takes
200 so the default suite stays quick. Where capacity binds, 200 tickets meet 160 free slots on
both backends. Last, two groups with the same agents fill them from both sides at once.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection

from tierdesk.accounts import services as accounts
from tierdesk.accounts.models import SupportGroup, User
from tierdesk.core.actor import Actor
from tierdesk.routing import services as routing
from tierdesk.testing.fixtures import World
from tierdesk.tickets import workflow
from tierdesk.tickets.models import FieldChange, Ticket, TimelineEntry

SYSTEM = Actor.system()
WORKERS = 4
AGENTS = 8
pytestmark = [pytest.mark.usefixtures("tasks_in_process"), pytest.mark.django_db(transaction=True)]


def _desk(world: World, capacity: int) -> tuple[SupportGroup, list[User]]:
    """A group of AGENTS agents with the same capacity; it assigns by hand until the test switches it."""
    agents = []
    for i in range(AGENTS):
        agent = accounts.create_agent(
            actor=SYSTEM,
            provider=world.provider,
            email=f"desk{i}@northwind.test",
            full_name=f"Agent {i}",
            password=None,
        )
        accounts.set_agent_routing(actor=SYSTEM, agent=agent, capacity=capacity)
        agents.append(agent)
    group = accounts.create_support_group(
        actor=SYSTEM,
        provider=world.provider,
        name="Busy desk",
        tier=1,
        serves=[world.client],
        members=[(a, False) for a in agents],
    )
    return group, agents


def _queue(world: World, group: SupportGroup, count: int) -> list[int]:
    """`count` new, unassigned tickets in the group's queue.

    Written in bulk, as the benchmarks seed tickets: 1,000 openings through the ticket services
    (with routing and SLA work after each commit) would take longer than the assignments under
    test, and `auto_assign` reads nothing an opening writes besides the ticket row.
    """
    made = Ticket.objects.bulk_create(
        Ticket(
            organisation=world.client,
            number=f"INC{9_000_001 + i}",
            title=f"Queued {i}",
            requester=world.requester,
            support_group=group,
            tier=group.tier,
            priority=3,
        )
        for i in range(count)
    )
    return [t.pk for t in made]


def _assign_concurrently(ticket_ids: list[int]) -> list[BaseException]:
    barrier = threading.Barrier(WORKERS)
    errors: list[BaseException] = []

    def work(share: list[int]) -> None:
        try:
            barrier.wait(timeout=30)
            for ticket_id in share:
                routing.auto_assign(ticket_id)
        except BaseException as exc:  # reported by the test, not lost with the thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(ticket_ids[i::WORKERS],)) for i in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not any(thread.is_alive() for thread in threads), "a worker did not finish"
    return errors


def _open_counts(agents: list[User]) -> dict[str, int]:
    counts = Counter(
        Ticket.objects.filter(assignee__in=agents, status__in=workflow.OPEN).values_list("assignee__email", flat=True)
    )
    return {agent.email: counts[agent.email] for agent in agents}


@pytest.mark.parametrize("strategy", ["round_robin", "least_loaded"])
@pytest.mark.parametrize("binding", [False, True], ids=["room-to-spare", "capacity-binding"])
def test_concurrent_workers_stay_fair_and_within_capacity(world: World, strategy: str, binding: bool) -> None:
    if binding:
        count, capacity = 200, 20  # 160 slots for 200 tickets
    else:
        count = 1000 if connection.vendor == "postgresql" else 200
        capacity = -(-count // AGENTS) + 5  # a few more than an even share
    group, agents = _desk(world, capacity)
    ticket_ids = _queue(world, group, count)
    accounts.set_assignment_strategy(actor=SYSTEM, group=group, strategy=strategy)

    errors = _assign_concurrently(ticket_ids)

    assert errors == []
    per_agent = _open_counts(agents)
    print(f"{strategy}, capacity {capacity} x {AGENTS} agents, {count} tickets: {sorted(per_agent.values())}")
    assert max(per_agent.values()) <= capacity, per_agent
    assert max(per_agent.values()) - min(per_agent.values()) <= 1, per_agent
    assigned = Ticket.objects.filter(pk__in=ticket_ids, assignee__isnull=False)
    if binding:
        assert set(per_agent.values()) == {capacity}, per_agent  # every slot taken, and no more
        waiting = Ticket.objects.filter(pk__in=ticket_ids, assignee__isnull=True)
        assert waiting.count() == count - AGENTS * capacity
        assert not waiting.exclude(timeline__event="waiting_for_agent").exists()  # each waits, and says why
    else:
        assert assigned.count() == count
    # Assigned once each: one assignee change in the ticket's history, one "assigned" event on its timeline.
    changes = Counter(
        FieldChange.objects.filter(ticket_id__in=ticket_ids, field="assignee").values_list("ticket_id", flat=True)
    )
    assert set(changes) == set(assigned.values_list("pk", flat=True))
    assert set(changes.values()) == {1}
    events = Counter(
        TimelineEntry.objects.filter(ticket_id__in=ticket_ids, event="assigned").values_list("ticket_id", flat=True)
    )
    assert events == changes


def test_two_groups_sharing_agents_keep_each_agent_within_capacity(world: World) -> None:
    """Workers assigning into two groups at once must not both fill an agent's last slot."""
    capacity = 5
    group, agents = _desk(world, capacity)
    twin = accounts.create_support_group(
        actor=SYSTEM,
        provider=world.provider,
        name="Twin desk",
        tier=1,
        serves=[world.client],
        members=[(a, False) for a in agents],
    )
    first = _queue(world, group, 40)
    second = Ticket.objects.bulk_create(
        Ticket(
            organisation=world.client,
            number=f"INC{9_100_001 + i}",
            title=f"Twin {i}",
            requester=world.requester,
            support_group=twin,
            tier=twin.tier,
            priority=3,
        )
        for i in range(40)
    )
    for desk in (group, twin):
        accounts.set_assignment_strategy(actor=SYSTEM, group=desk, strategy="least_loaded")

    # Alternating, so that workers 0 and 2 assign into one group while workers 1 and 3 assign into the other.
    errors = _assign_concurrently([pk for pair in zip(first, [t.pk for t in second], strict=True) for pk in pair])

    assert errors == []
    per_agent = _open_counts(agents)
    print(f"two groups, capacity {capacity} x {AGENTS} shared agents, 80 tickets: {sorted(per_agent.values())}")
    assert set(per_agent.values()) == {capacity}, per_agent
