"""The benchmark world: one provider, three clients, an agent, a supervisor and many tickets.

People and organisations go through the services; the bulk of tickets is written with
`bulk_create` (seeding only: no timeline or audit rows), which takes seconds instead of hours.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction

from tierdesk.accounts import services as accounts
from tierdesk.accounts.choices import Role
from tierdesk.accounts.models import Requester, SupportGroup, User
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.tenancy import services as tenancy
from tierdesk.tenancy.choices import OrganisationKind
from tierdesk.tenancy.models import Organisation
from tierdesk.testing.demo import CHANNELS, FIRST, LAST, PROBLEMS
from tierdesk.tickets.choices import NUMBER_PREFIX, Level, TicketStatus
from tierdesk.tickets.models import Category, Ticket, TicketNumberSequence
from tierdesk.tickets.services import DEFAULT_PRIORITY_MATRIX

FIRST_NUMBER = 1001  # where the number counters start after migrate
REQUESTERS_PER_CLIENT = 200
# Roughly a desk a year into production: most tickets finished, a working set still open.
STATUS_WEIGHTS = {
    TicketStatus.CLOSED: 55,
    TicketStatus.RESOLVED: 10,
    TicketStatus.CANCELLED: 2,
    TicketStatus.NEW: 5,
    TicketStatus.ASSIGNED: 10,
    TicketStatus.IN_PROGRESS: 11,
    TicketStatus.PENDING_CUSTOMER: 5,
    TicketStatus.PENDING_VENDOR: 2,
}


@dataclass(frozen=True)
class World:
    provider: Organisation
    clients: list[Organisation]
    served: list[Organisation]  # the clients the agent's support group serves
    requesters: dict[int, list[Requester]]  # by organisation id
    group: SupportGroup
    agent: User
    supervisor: User
    agent_token: str
    supervisor_token: str


@transaction.atomic
def build_world() -> World:
    system = Actor.system(via="command")
    provider = tenancy.create_organisation(
        actor=system, name="Bench Managed IT", slug="bench-msp", kind=OrganisationKind.PROVIDER
    )
    clients = [
        tenancy.create_organisation(actor=system, name=f"Client {i}", slug=f"client-{i}", provider=provider)
        for i in range(3)
    ]
    requesters: dict[int, list[Requester]] = {}
    for org in clients:
        rows = [
            Requester(
                organisation=org,
                name=f"{FIRST[i % len(FIRST)]} {LAST[(i * 7) % len(LAST)]}",
                email=f"person{i}@{org.slug}.example",
            )
            for i in range(REQUESTERS_PER_CLIENT)
        ]
        requesters[org.pk] = Requester.objects.bulk_create(rows)
    agent = accounts.create_agent(
        actor=system, provider=provider, email="agent@bench.example", full_name="Alex Agent", password=None
    )
    supervisor = accounts.create_agent(
        actor=system,
        provider=provider,
        email="supervisor@bench.example",
        full_name="Sam Supervisor",
        password=None,
        role=Role.SUPERVISOR,
    )
    served = clients[:2]
    group = accounts.create_support_group(
        actor=system, provider=provider, name="Service Desk", tier=1, serves=served, members=[(agent, True)]
    )
    _, agent_token = accounts.issue_api_token(actor=Actor(user=agent), user=agent, name="bench")
    _, supervisor_token = accounts.issue_api_token(actor=Actor(user=supervisor), user=supervisor, name="bench")
    return World(provider, clients, served, requesters, group, agent, supervisor, agent_token, supervisor_token)


def seed_tickets(world: World, count: int, *, batch_size: int = 2000) -> None:
    """`count` tickets spread evenly over the clients and over the last year, newest-first friendly."""
    rng = random.Random(2026)
    now = clock.now()
    categories = {c.path: c for c in Category.objects.all()}
    statuses, weights = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
    served_ids = {org.pk for org in world.served}
    levels = list(Level)
    with transaction.atomic():
        batch: list[Ticket] = []
        for n in range(count):
            org = world.clients[n % len(world.clients)]
            requester = rng.choice(world.requesters[org.pk])
            path, ticket_type, titles = rng.choice(PROBLEMS)
            impact, urgency = rng.choice(levels), rng.choice(levels)
            status = rng.choices(statuses, weights)[0]
            created = now - timedelta(seconds=rng.uniform(0, 365 * 86400))
            ours = org.pk in served_ids and status != TicketStatus.NEW
            finished = status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
            channel = rng.choice(CHANNELS)
            batch.append(
                Ticket(
                    organisation=org,
                    number=f"{NUMBER_PREFIX[ticket_type]}{FIRST_NUMBER + n:07d}",
                    ticket_type=ticket_type,
                    title=rng.choice(titles),
                    description=f"Reported by {requester.name} via {channel}. {rng.choice(titles)}.",
                    requester=requester,
                    channel=channel,
                    category=categories.get(path),
                    impact=impact,
                    urgency=urgency,
                    priority=DEFAULT_PRIORITY_MATRIX[(impact, urgency)],
                    status=status,
                    support_group=world.group if ours else None,
                    assignee=world.agent if ours else None,
                    created_at=created,
                    updated_at=created + timedelta(hours=rng.uniform(0, 48)),
                    resolved_at=created + timedelta(hours=24) if finished else None,
                    closed_at=created + timedelta(days=8) if status == TicketStatus.CLOSED else None,
                )
            )
            if len(batch) == batch_size:
                Ticket.objects.bulk_create(batch)
                batch = []
        Ticket.objects.bulk_create(batch)
        # Numbers taken by the API afterwards must not collide with the seeded ones.
        TicketNumberSequence.objects.update(last_value=FIRST_NUMBER + count)
