"""Every view of a ticket by a person is written to the access log, by web and API alike."""

from __future__ import annotations

from django.test import Client

from tierdesk.audit.models import TicketAccess
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World, api_client_for


def test_api_detail_is_logged_list_is_not(world: World) -> None:
    ticket = open_ticket(world.requester)
    client = api_client_for(world.agent)
    client.get("/api/v1/tickets/")
    assert TicketAccess.objects.count() == 0
    client.get(f"/api/v1/tickets/{ticket.number}/", REMOTE_ADDR="198.51.100.4")
    access = TicketAccess.objects.get()
    assert (access.user_id, access.ticket_id, access.ticket_number) == (world.agent.pk, ticket.pk, ticket.number)
    assert (access.organisation_id, access.ip, access.via) == (world.client.pk, "198.51.100.4", "api")


def test_web_ticket_page_is_logged(world: World) -> None:
    ticket = open_ticket(world.requester)
    browser = Client()
    browser.force_login(world.requester_user)
    response = browser.get(f"/portal/tickets/{ticket.number}/")
    assert response.status_code == 200
    access = TicketAccess.objects.get()
    assert (access.user_id, access.ticket_number, access.via) == (world.requester_user.pk, ticket.number, "web")


def test_refused_view_is_not_logged_as_access(world: World) -> None:
    ticket = open_ticket(world.requester)
    response = api_client_for(world.other_requester_user).get(f"/api/v1/tickets/{ticket.number}/")
    assert response.status_code == 404
    assert not TicketAccess.objects.exists()


def test_reading_the_timeline_or_a_file_is_logged(world: World) -> None:
    ticket = open_ticket(world.requester)
    client = api_client_for(world.agent)
    client.get(f"/api/v1/tickets/{ticket.number}/timeline/")
    assert TicketAccess.objects.filter(ticket_id=ticket.pk).count() == 1
    client.post(f"/api/v1/tickets/{ticket.number}/timeline/", {"kind": "note", "body": "x"}, format="json")
    assert TicketAccess.objects.filter(ticket_id=ticket.pk).count() == 1  # a write is audited, not logged twice
