"""The console's notification inbox: listing, unread badge, marking read, and who sees what."""

from __future__ import annotations

import pytest
from django.test import Client

from tierdesk.core.actor import Actor
from tierdesk.core.errors import NotFound
from tierdesk.notifications import services
from tierdesk.notifications.models import Notification
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World


def _note(world: World, key: str, recipient_id: int) -> Notification:
    ticket = open_ticket(world.requester)
    return Notification.objects.create(
        organisation=world.provider, recipient_id=recipient_id, ticket=ticket, key=key, subject=f"About {key}"
    )


def test_inbox_badge_and_mark_read(world: World, client: Client) -> None:
    mine = _note(world, "a", world.agent.pk)
    _note(world, "b", world.agent.pk)
    _note(world, "c", world.supervisor.pk)
    client.force_login(world.agent)
    page = client.get("/notifications/").content.decode()
    assert "About a" in page and "About b" in page and "About c" not in page
    assert f"/console/tickets/{mine.ticket.number}/" in page and "Mark all 2 read" in page
    assert "2 unread" in client.get("/notifications/badge/").content.decode()

    client.post("/notifications/read/", {"id": [str(mine.pk)]})
    assert "1 unread" in client.get("/notifications/badge/").content.decode()
    client.post("/notifications/read/")
    assert client.get("/notifications/badge/").content.decode().strip() == ""
    assert Notification.objects.get(key="c").read_at is None  # someone else's stays unread


def test_only_people_have_an_inbox(world: World, client: Client) -> None:
    client.force_login(world.requester_user)
    assert client.get("/notifications/").status_code == 302
    assert client.post("/notifications/read/").status_code == 403
    with pytest.raises(NotFound, match="Only a person"):
        services.mark_read(actor=Actor.system())
