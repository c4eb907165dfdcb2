"""Pinned query counts for the ticket list and detail: no N+1 ever ships."""

from __future__ import annotations

import pytest

from tierdesk.core.actor import Actor
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World, api_client_for, count_queries
from tierdesk.tickets import services
from tierdesk.tickets.models import Category

# Token with its user, scope (provider + served organisations), the page.
API_LIST_QUERIES = 4
# Token, scope (2), the ticket with its relations, the access-log append (head, insert, head).
API_DETAIL_QUERIES = 7
# Session, user, scope (2: organisation, requester), count, page.
WEB_LIST_QUERIES = 6


def _tickets(world: World, n: int) -> None:
    category = Category.objects.filter(parent__isnull=False).first()
    actor = Actor(user=world.agent)
    for i in range(n):
        ticket = open_ticket(world.requester, title=f"Ticket {i}", support_group=world.group, category=category)
        if i % 2:
            services.assign(actor=actor, ticket=ticket, assignee=world.agent)


@pytest.mark.parametrize("n", [3, 30])
def test_api_ticket_list(world: World, n: int) -> None:
    _tickets(world, n)
    client = api_client_for(world.agent)
    client.get("/api/v1/tickets/")  # the token's last-used stamp is written on first use only
    assert count_queries(lambda: client.get("/api/v1/tickets/")) == API_LIST_QUERIES
    assert len(client.get("/api/v1/tickets/").json()["results"]) == n


def test_api_ticket_detail(world: World) -> None:
    _tickets(world, 2)
    client = api_client_for(world.agent)
    client.get("/api/v1/tickets/")
    number = client.get("/api/v1/tickets/").json()["results"][0]["number"]
    assert count_queries(lambda: client.get(f"/api/v1/tickets/{number}/")) == API_DETAIL_QUERIES
