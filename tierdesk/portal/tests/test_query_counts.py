"""Pinned query counts for the portal's lists and ticket page: no N+1 ever ships."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tierdesk.core.actor import Actor
from tierdesk.tenancy.services import post_announcement
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World, count_queries
from tierdesk.tickets import services
from tierdesk.tickets.models import Category, Ticket

# Session, user, scope (provider, requester), announcements, count, page.
MY_TICKETS_QUERIES = 7
# Session, user, scope (2), the ticket with its relations, the access-log append (head, insert,
# head update), attachments, timeline, rating, announcements.
TICKET_PAGE_QUERIES = 12


def _tickets(world: World, n: int, requester: Any = None) -> list[Ticket]:
    category = Category.objects.filter(parent__isnull=False).first()
    return [
        open_ticket(requester or world.requester, title=f"Ticket {i}", support_group=world.group, category=category)
        for i in range(n)
    ]


@pytest.mark.parametrize("n", [3, 30])
def test_my_tickets(world: World, n: int) -> None:
    _tickets(world, n)
    post_announcement(actor=Actor.system(), organisation=world.client, title="Planned maintenance")
    client = Client()
    client.force_login(world.requester_user)
    client.get("/portal/")
    assert count_queries(lambda: client.get("/portal/")) == MY_TICKETS_QUERIES


@pytest.mark.parametrize("n", [3, 30])
def test_organisation_tickets(world: World, n: int) -> None:
    _tickets(world, n, requester=world.colleague)
    client = Client()
    client.force_login(world.manager_user)
    client.get("/portal/organisation/")
    assert count_queries(lambda: client.get("/portal/organisation/")) == MY_TICKETS_QUERIES


@pytest.mark.parametrize("n", [1, 10])
def test_ticket_page(world: World, n: int) -> None:
    (ticket,) = _tickets(world, 1)
    agent = Actor(user=world.agent)
    requester = Actor(user=world.requester_user)
    for i in range(n):
        services.reply(actor=agent, ticket=ticket, body=f"Answer {i}")
        services.add_note(actor=agent, ticket=ticket, body=f"Note {i}")
        services.reply(actor=requester, ticket=ticket, body=f"Thanks {i}")
        services.add_attachment(
            actor=requester, ticket=ticket, stream=SimpleUploadedFile("f.txt", b"x%d" % i), filename=f"f{i}.txt"
        )
    ticket = services.transition(
        actor=agent, ticket=ticket, to_status="resolved", resolution_code="fixed", resolution_notes="Done."
    )
    services.rate_resolution(actor=requester, ticket=ticket, score=5)
    client = Client()
    client.force_login(world.requester_user)
    client.get(f"/portal/tickets/{ticket.number}/")
    assert count_queries(lambda: client.get(f"/portal/tickets/{ticket.number}/")) == TICKET_PAGE_QUERIES
