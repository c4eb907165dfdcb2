"""Pinned query counts for the console's pages: the same whether 3 or 30 rows are shown."""

from __future__ import annotations

import io

import pytest
from django.test import Client

from tierdesk.core.actor import Actor
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World, count_queries
from tierdesk.tickets import services
from tierdesk.tickets.models import Category, Ticket

# Session, user, scope (2), count, page, saved views, agents for the bulk "assign to" list.
QUEUE_QUERIES = 8
# Session, user, scope (2), the one aggregate over the open tickets.
COUNTS_QUERIES = 5
# Session, user, scope (2), the ticket with its relations, the access log (head, insert, head),
# the requester's recent tickets, timeline, watchers, attachments, SLA clocks, tier history, and
# the choices of the inline forms (categories, groups, assignees, whether a vendor serves the client, whether
# the provider has a tracker).
TICKET_QUERIES = 19
# The problems card (tierdesk.problems): the linked problems, the known errors applied, and the
# provider's active known errors that suggestions are scored against (one query however many).
TICKET_QUERIES += 3
# The major-incident card (tierdesk.major_incidents): is it one, is it under one, the open ones to
# attach it to, and the groups that may own a declaration.
TICKET_QUERIES += 4
# The suggested articles card (tierdesk.knowledge): the ranked search. When articles match, two more
# (the matched articles, their audiences): see knowledge/tests/test_views.py.
TICKET_QUERIES += 1


def _client(world: World) -> Client:
    client = Client()
    client.force_login(world.agent)
    return client


def _tickets(world: World, n: int) -> list[Ticket]:
    category = Category.objects.filter(parent__isnull=False).first()
    actor = Actor(user=world.agent)
    made = []
    for i in range(n):
        ticket = open_ticket(world.requester, title=f"Ticket {i}", support_group=world.group, category=category)
        made.append(services.assign(actor=actor, ticket=ticket, assignee=world.agent if i % 2 else None))
    return made


@pytest.mark.parametrize("n", [3, 30])
@pytest.mark.parametrize("queue", ["mine", "unassigned", "groups", "breaching", "all"])
def test_queue_page(world: World, n: int, queue: str) -> None:
    _tickets(world, n)
    services.save_view(actor=Actor(user=world.agent), name="Mine", query="queue=mine")
    client = _client(world)
    client.get(f"/console/?queue={queue}")
    assert count_queries(lambda: client.get(f"/console/?queue={queue}")) == QUEUE_QUERIES
    assert count_queries(lambda: client.get(f"/console/?queue={queue}&q=ticket&sort=-priority")) == QUEUE_QUERIES


@pytest.mark.parametrize("n", [3, 30])
def test_queue_counts(world: World, n: int) -> None:
    _tickets(world, n)
    client = _client(world)
    assert count_queries(lambda: client.get("/console/counts/")) == COUNTS_QUERIES


@pytest.mark.parametrize("n", [3, 30])
def test_ticket_page(world: World, n: int) -> None:
    ticket = _tickets(world, 1)[0]
    actor = Actor(user=world.agent)
    for i in range(n):
        services.reply(actor=actor, ticket=ticket, body=f"Reply {i}")
        services.add_note(actor=actor, ticket=ticket, body=f"Note {i}")
        services.add_attachment(actor=actor, ticket=ticket, stream=io.BytesIO(b"x"), filename=f"f{i}.txt")
        open_ticket(world.requester, title=f"Other {i}")
    services.set_watching(actor=actor, ticket=ticket, watching=True)
    services.set_watching(actor=Actor(user=world.supervisor), ticket=ticket, watching=True)
    client = _client(world)
    client.get(f"/console/tickets/{ticket.number}/")
    assert count_queries(lambda: client.get(f"/console/tickets/{ticket.number}/")) == TICKET_QUERIES
