"""Applying a known error to a ticket: the link, the timeline, the workaround in the reply."""

from __future__ import annotations

import pytest
from django.test import Client

from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError, NotFound, PermissionDenied
from tierdesk.problems import services
from tierdesk.problems.models import KnownErrorApplication
from tierdesk.problems.tests.conftest import Catalogue
from tierdesk.testing.factories import RequesterFactory, open_ticket
from tierdesk.testing.fixtures import World
from tierdesk.tickets import services as tickets
from tierdesk.tickets.models import Ticket, TimelineEntry

HX = {"HTTP_HX_REQUEST": "true"}


def _client(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def _url(ticket: Ticket, known_error_id: int) -> str:
    return f"/console/tickets/{ticket.number}/known-errors/{known_error_id}/apply/"


def test_applying_links_the_ticket_and_its_problem_and_returns_the_workaround(
    world: World, catalogue: Catalogue
) -> None:
    agent = Actor(user=world.agent)
    vpn = catalogue.known_errors["vpn"]
    ticket = open_ticket(world.requester, title="VPN keeps dropping")
    workaround = services.apply_known_error(actor=agent, ticket=ticket, known_error=vpn)
    assert workaround == vpn.workaround
    application = KnownErrorApplication.objects.get(known_error=vpn, ticket=ticket)
    assert application.applied_by == world.agent
    assert ticket in catalogue.problem.incidents.all()  # the problem's incidents grow
    (event,) = TimelineEntry.objects.filter(ticket=ticket, event="known_error_applied")
    assert event.data == {"known_error_id": vpn.pk, "known_error": vpn.title, "problem": catalogue.problem.number}
    assert not event.is_public and event.author == world.agent
    # Again: the workaround again, but one link and one event.
    assert services.apply_known_error(actor=agent, ticket=ticket, known_error=vpn) == vpn.workaround
    assert TimelineEntry.objects.filter(ticket=ticket, event="known_error_applied").count() == 1
    assert KnownErrorApplication.objects.filter(ticket=ticket).count() == 1


def test_a_known_error_without_a_problem_links_only_itself(world: World, catalogue: Catalogue) -> None:
    ticket = open_ticket(world.requester, title="Printer offline")
    services.apply_known_error(
        actor=Actor(user=world.agent), ticket=ticket, known_error=catalogue.known_errors["printer"]
    )
    assert list(ticket.known_errors.all()) == [catalogue.known_errors["printer"]]
    assert not ticket.problems.exists()


def test_who_may_apply_and_to_what(world: World, catalogue: Catalogue) -> None:
    printer = catalogue.known_errors["printer"]
    ticket = open_ticket(world.requester, title="Printer offline")
    with pytest.raises(PermissionDenied):
        services.apply_known_error(actor=Actor(user=world.requester_user), ticket=ticket, known_error=printer)
    rival_ticket = open_ticket(RequesterFactory(organisation=world.other_provider_client), title="Printer offline")
    with pytest.raises(NotFound):  # another provider's known error reads as missing
        services.apply_known_error(
            actor=Actor(user=world.other_provider_agent), ticket=rival_ticket, known_error=printer
        )
    with pytest.raises(NotFound):  # an agent who does not serve the Bank cannot reach its ticket
        bank_ticket = open_ticket(RequesterFactory(organisation=world.other_client), title="Printer offline")
        services.apply_known_error(actor=Actor(user=world.agent), ticket=bank_ticket, known_error=printer)
    tickets.transition(actor=Actor(user=world.agent), ticket=ticket, to_status="cancelled", reason="Duplicate")
    ticket.refresh_from_db()
    with pytest.raises(DomainError, match="cancelled"):
        services.apply_known_error(actor=Actor(user=world.agent), ticket=ticket, known_error=printer)
    assert not KnownErrorApplication.objects.exists()


def test_the_console_puts_the_workaround_after_the_draft(world: World, catalogue: Catalogue) -> None:
    outlook = catalogue.known_errors["outlook"]
    ticket = open_ticket(world.requester, title="Outlook keeps asking for my password", support_group=world.group)
    agent = _client(world.agent)
    page = agent.get(f"/console/tickets/{ticket.number}/").content.decode()
    assert 'id="ticket-known-errors"' in page and outlook.title in page
    assert f'hx-post="{_url(ticket, outlook.pk)}"' in page
    response = agent.post(_url(ticket, outlook.pk), {"body": "Hello Rita,"}, **HX)
    html = response.content.decode()
    assert response.status_code == 200
    # The composer comes back (out of band) with the reply's field names and the workaround after the greeting.
    assert 'id="composer"' in html and 'name="kind" value="reply"' in html and 'name="body"' in html
    assert f"Hello Rita,\n\n{outlook.workaround}</textarea>" in html
    assert 'id="ticket-timeline"' in html and "applied a known error" in html
    assert 'id="ticket-known-errors"' in html and "Applied</span>" in html
    assert KnownErrorApplication.objects.filter(ticket=ticket, known_error=outlook).exists()
    # Without htmx: the ticket page itself, the workaround in its composer.
    plain = agent.post(_url(ticket, outlook.pk), {"body": ""}).content.decode()
    assert f">\n{outlook.workaround}</textarea>" in plain and "<title>" in plain


def test_the_console_refuses_requesters_and_other_providers(world: World, catalogue: Catalogue) -> None:
    printer = catalogue.known_errors["printer"]
    ticket = open_ticket(world.requester, title="Printer offline")
    assert _client(world.requester_user).post(_url(ticket, printer.pk), **HX).status_code == 403
    rival_ticket = open_ticket(RequesterFactory(organisation=world.other_provider_client), title="Printer offline")
    rival = _client(world.other_provider_agent)
    assert rival.post(_url(rival_ticket, printer.pk), **HX).status_code == 404
    assert rival.post(_url(ticket, printer.pk), **HX).status_code == 404
    assert not KnownErrorApplication.objects.exists()


def test_a_refused_apply_answers_in_the_alert_region(world: World, catalogue: Catalogue) -> None:
    printer = catalogue.known_errors["printer"]
    services.update_known_error(
        actor=Actor(user=world.agent), known_error=printer, changes=services.KnownErrorChanges(is_active=False)
    )
    ticket = open_ticket(world.requester, title="Printer offline")
    response = _client(world.agent).post(_url(ticket, printer.pk), **HX)
    assert response.status_code == 200 and response["HX-Retarget"] == "#ticket-alert"
    assert "retired" in response.content.decode()
