"""Problem pages of the console and the ticket page's problems card, through Django's test client."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tierdesk.core.actor import Actor
from tierdesk.problems import services
from tierdesk.problems.choices import FixStatus, ProblemOrigin, ProblemStatus
from tierdesk.problems.models import KnownError, Problem
from tierdesk.problems.tests.conftest import Catalogue
from tierdesk.testing.factories import RequesterFactory, open_ticket
from tierdesk.testing.fixtures import World, count_queries
from tierdesk.tickets import services as tickets
from tierdesk.tickets.services import TicketChanges

# Session, user, scope (2), count, the page with its owner groups and counts, the groups of the "raise" form.
LIST_QUERIES = 7
# Session, user, scope (2), the problem, the incidents the agent may see, how many are linked in all,
# the investigation log, the known errors with how often each was applied, the owner group choices.
DETAIL_QUERIES = 10


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _html(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return str(response.content.decode())


def _fill(world: World, n: int) -> Problem:
    """A problem with n incidents, n notes and n known errors, and n more problems besides."""
    agent = Actor(user=world.agent)
    problem = services.create_problem(actor=agent, title="Printers go offline", owner_group=world.group)
    for i in range(n):
        services.link_incident(
            actor=agent, problem=problem, ticket=open_ticket(world.requester, title=f"Printer offline {i}")
        )
        services.add_root_cause_note(actor=agent, problem=problem, body=f"Finding {i}")
        services.record_known_error(
            actor=agent, problem=problem, title=f"Printer offline {i}", symptoms="Offline.", workaround="Re-add."
        )
        services.create_problem(actor=agent, title=f"Other problem {i}", owner_group=world.group)
    return problem


@pytest.mark.parametrize("n", [3, 30])
def test_pages_have_pinned_query_counts(world: World, n: int) -> None:
    problem = _fill(world, n)
    client = _client(world.agent)
    client.get("/console/problems/")
    assert count_queries(lambda: client.get("/console/problems/")) == LIST_QUERIES
    assert count_queries(lambda: client.get("/console/problems/?status=all&q=printer")) == LIST_QUERIES
    assert count_queries(lambda: client.get(f"/console/problems/{problem.number}/")) == DETAIL_QUERIES


def test_the_list_filters_and_the_detail_shows_the_investigation(world: World) -> None:
    agent = Actor(user=world.agent)
    open_problem = services.create_problem(actor=agent, title="Printers go offline")
    closed = services.create_problem(actor=agent, title="Old mail outage")
    services.change_problem_status(actor=agent, problem=closed, to_status=ProblemStatus.CLOSED)
    client = _client(world.agent)
    page = _html(client.get("/console/problems/"))
    assert open_problem.number in page and closed.number not in page
    page = _html(client.get("/console/problems/?status=closed"))
    assert closed.number in page and open_problem.number not in page
    assert open_problem.number in _html(client.get(f"/console/problems/?status=all&q={open_problem.number}"))
    detail = _html(client.get(f"/console/problems/{open_problem.number.lower()}/"))
    assert "Printers go offline" in detail and "Root cause" in detail
    assert 'action="/console/problems/PRB0001001/status/"' in detail


def test_incidents_of_clients_the_agent_does_not_serve_are_counted_not_shown(world: World) -> None:
    supervisor = Actor(user=world.supervisor)
    hospital = open_ticket(world.requester, title="Badge reader dead")
    bank = open_ticket(RequesterFactory(organisation=world.other_client), title="Bank badge reader dead")
    problem = services.create_problem(actor=supervisor, title="Badge readers", incidents=[hospital, bank])
    page = _html(_client(world.agent).get(f"/console/problems/{problem.number}/"))
    assert hospital.number in page and bank.number not in page and "And 1 of clients you do not serve" in page
    page = _html(_client(world.supervisor).get(f"/console/problems/{problem.number}/"))
    assert hospital.number in page and bank.number in page


def test_the_investigation_through_the_forms(world: World) -> None:
    client = _client(world.agent)
    response = client.post("/console/problems/new/", {"title": "VPN drops", "owner_group": world.group.pk})
    problem = Problem.objects.get()
    assert response["Location"] == f"/console/problems/{problem.number}/"
    base = f"/console/problems/{problem.number}"
    client.post(f"{base}/notes/", {"body": "Drops after 600 s idle."})
    client.post(f"{base}/root-cause/", {"root_cause": "Gateway idle timeout."})
    client.post(f"{base}/status/", {"status": "root_cause_known", "note": "Confirmed with the vendor."})
    ticket = open_ticket(world.requester, title="VPN dropped")
    client.post(f"{base}/incidents/", {"ticket": ticket.number.lower()})
    client.post(
        f"{base}/known-errors/",
        {"title": "VPN disconnects", "symptoms": "Drops.", "workaround": "TCP profile.", "fix_status": "planned"},
    )
    problem.refresh_from_db()
    assert problem.status == ProblemStatus.ROOT_CAUSE_KNOWN and problem.root_cause == "Gateway idle timeout."
    assert list(problem.incidents.all()) == [ticket]
    known_error = KnownError.objects.get()
    assert (known_error.problem, known_error.root_cause, known_error.fix_status) == (
        problem,
        "Gateway idle timeout.",
        FixStatus.PLANNED,
    )
    client.post(f"/console/problems/known-errors/{known_error.pk}/", {"fix_status": "released"})
    known_error.refresh_from_db()
    assert known_error.fix_status == FixStatus.RELEASED and not known_error.is_active
    client.post(f"{base}/incidents/{ticket.number}/unlink/")
    assert not problem.incidents.exists()
    # A refused change comes back as a warning on the page.
    response = client.post(f"{base}/status/", {"status": "new"}, follow=True)
    assert "Select a valid choice" in _html(response)
    response = client.post(f"{base}/incidents/", {"ticket": "INC9999999"}, follow=True)
    assert "No ticket INC9999999" in _html(response)


def test_raise_a_problem_from_a_ticket_page(world: World) -> None:
    ticket = open_ticket(world.requester, title="Mail down for the whole hospital")
    client = _client(world.agent)
    page = _html(client.get(f"/console/tickets/{ticket.number}/"))
    assert 'action="/console/problems/new/"' in page and f'name="ticket" value="{ticket.number}"' in page
    client.post("/console/problems/new/", {"ticket": ticket.number, "title": ticket.title, "major_incident": "on"})
    problem = Problem.objects.get()
    assert problem.origin == ProblemOrigin.MAJOR_INCIDENT and problem.major_incident_ticket == ticket
    assert list(problem.incidents.all()) == [ticket]
    page = _html(client.get(f"/console/tickets/{ticket.number}/"))
    assert f'href="/console/problems/{problem.number}/"' in page  # the card shows what it is linked to
    assert "linked it to a problem" in page  # and the timeline says so
    other = open_ticket(world.requester, title="Printer offline")
    client.post("/console/problems/new/", {"ticket": other.number, "title": other.title})
    assert Problem.objects.get(incidents=other).origin == ProblemOrigin.MANUAL


def test_suggestions_on_open_tier_1_tickets_only(world: World, catalogue: Catalogue) -> None:
    client = _client(world.agent)
    ticket = open_ticket(world.requester, title="Printer says offline", support_group=world.group)
    assert "Suggested known errors" in _html(client.get(f"/console/tickets/{ticket.number}/"))
    tickets.update_ticket(
        actor=Actor(user=world.agent), ticket=ticket, changes=TicketChanges(tier=2), expected_version=None
    )
    page = _html(client.get(f"/console/tickets/{ticket.number}/"))
    assert "Suggested known errors" not in page and "Raise a problem" in page
    unrelated = open_ticket(world.requester, title="Coffee machine leaking")
    assert "No known error matches this ticket" in _html(client.get(f"/console/tickets/{unrelated.number}/"))


def test_requesters_and_other_providers_are_kept_out(world: World) -> None:
    problem = services.create_problem(actor=Actor(user=world.agent), title="Printers")
    known_error = services.record_known_error(
        actor=Actor(user=world.agent), title="Printer", symptoms="Off.", workaround="On."
    )
    requester = _client(world.requester_user)
    assert requester.get("/console/problems/")["Location"] == "/"
    assert requester.get(f"/console/problems/{problem.number}/", HTTP_HX_REQUEST="true").status_code == 403
    assert requester.post("/console/problems/new/", {"title": "Mine"}).status_code == 403
    rival = _client(world.other_provider_agent)
    assert problem.number not in _html(rival.get("/console/problems/?status=all"))
    assert rival.get(f"/console/problems/{problem.number}/").status_code == 404
    assert rival.post(f"/console/problems/{problem.number}/notes/", {"body": "x"}).status_code == 404
    assert (
        rival.post(f"/console/problems/known-errors/{known_error.pk}/", {"fix_status": "wont_fix"}).status_code == 404
    )
    assert not problem.notes.exists()
