"""Optimistic concurrency: two agents change the same ticket; one wins, one gets 412."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World, api_client_for
from tierdesk.tickets.models import Ticket


def test_stale_if_match_gets_412_and_nothing_is_lost(world: World) -> None:
    ticket = open_ticket(world.requester)
    first, second = api_client_for(world.agent), api_client_for(world.supervisor)
    etag = first.get(f"/api/v1/tickets/{ticket.number}/")["ETag"]
    assert etag == '"1"' and second.get(f"/api/v1/tickets/{ticket.number}/")["ETag"] == etag

    ok = first.patch(
        f"/api/v1/tickets/{ticket.number}/", {"title": "From the first agent"}, format="json", HTTP_IF_MATCH=etag
    )
    assert ok.status_code == 200 and ok["ETag"] == '"2"'
    stale = second.patch(f"/api/v1/tickets/{ticket.number}/", {"urgency": "high"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2

    ticket.refresh_from_db()
    assert (ticket.title, ticket.urgency, ticket.version) == ("From the first agent", "medium", 2)
    retry = second.patch(f"/api/v1/tickets/{ticket.number}/", {"urgency": "high", "version": 2}, format="json")
    assert retry.status_code == 200
    ticket.refresh_from_db()
    assert (ticket.title, ticket.urgency, ticket.version) == ("From the first agent", "high", 3)


def test_update_without_a_version_is_428(world: World) -> None:
    ticket = open_ticket(world.requester)
    response = api_client_for(world.agent).patch(f"/api/v1/tickets/{ticket.number}/", {"title": "x"}, format="json")
    assert response.status_code == 428
    bad = api_client_for(world.agent).patch(
        f"/api/v1/tickets/{ticket.number}/", {"title": "x"}, format="json", HTTP_IF_MATCH="yesterday"
    )
    assert bad.status_code == 400


@pytest.mark.django_db(transaction=True)
def test_truly_concurrent_updates_one_wins(world: World) -> None:
    """Two threads, two connections, the same version: exactly one 200 and one 412."""
    ticket = open_ticket(world.requester)
    clients = [api_client_for(world.agent), api_client_for(world.supervisor)]
    barrier = threading.Barrier(2)
    results: dict[int, int] = {}

    def patch(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            response = clients[i].patch(
                f"/api/v1/tickets/{ticket.number}/", {"title": f"Title {i}"}, format="json", HTTP_IF_MATCH='"1"'
            )
            results[i] = response.status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=patch, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results.values()) == [200, 412]
    winner = next(i for i, code in results.items() if code == 200)
    saved = Ticket.objects.get(pk=ticket.pk)
    assert saved.title == f"Title {winner}" and saved.version == 2
    assert saved.field_changes.filter(field="title").count() == 1
