"""/api/v1/problems/ and /api/v1/known-errors/: the provider's agents only."""

from __future__ import annotations

import pytest

from tierdesk.core.actor import Actor
from tierdesk.problems import services
from tierdesk.problems.choices import ProblemOrigin
from tierdesk.problems.models import KnownError, Problem
from tierdesk.testing.factories import RequesterFactory, open_ticket
from tierdesk.testing.fixtures import World, api_client_for, count_queries

# The token with its user, scope (2), the page, the incidents the agent may see, the known errors' ids.
PROBLEM_LIST_QUERIES = 6
# The token with its user, scope (2), the page of known errors with their problems.
KNOWN_ERROR_LIST_QUERIES = 4


@pytest.mark.parametrize("n", [2, 20])
def test_lists_have_pinned_query_counts(world: World, n: int) -> None:
    agent = Actor(user=world.agent)
    for i in range(n):
        problem = services.create_problem(
            actor=agent, title=f"Problem {i}", incidents=[open_ticket(world.requester, title=f"Incident {i}")]
        )
        services.record_known_error(actor=agent, problem=problem, title=f"KE {i}", symptoms="S.", workaround="W.")
    api = api_client_for(world.agent)
    api.get("/api/v1/problems/")  # the token's last use is written once a minute, not on every request
    assert count_queries(lambda: api.get("/api/v1/problems/")) == PROBLEM_LIST_QUERIES
    assert count_queries(lambda: api.get("/api/v1/known-errors/")) == KNOWN_ERROR_LIST_QUERIES
    assert len(api.get("/api/v1/problems/").json()["results"]) == n


def test_create_and_read_a_problem_from_recurring_incidents(world: World) -> None:
    api = api_client_for(world.agent)
    incidents = [open_ticket(world.requester, title=f"VPN dropped {i}") for i in range(2)]
    response = api.post(
        "/api/v1/problems/",
        {"title": "VPN drops", "owner_group": world.group.pk, "incidents": [t.pk for t in incidents]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert response["Location"] == f"/api/v1/problems/{body['number']}/"
    assert body["origin"] == ProblemOrigin.RECURRING_INCIDENTS
    assert body["incidents"] == sorted(t.number for t in incidents)
    assert body["owner_group"] == world.group.pk and body["status"] == "new"
    assert body["allowed_transitions"] == ["investigating", "root_cause_known", "closed"]
    read = api.get(f"/api/v1/problems/{body['number'].lower()}/").json()
    assert read["number"] == body["number"] and read["known_errors"] == []

    ke = api.post(
        "/api/v1/known-errors/",
        {"title": "VPN disconnects", "symptoms": "Drops.", "workaround": "TCP profile.", "problem": body["id"]},
        format="json",
    )
    assert ke.status_code == 201, ke.json()
    assert ke.json()["problem"] == body["number"] and ke.json()["fix_status"] == "none"
    assert api.get(f"/api/v1/known-errors/{ke.json()['id']}/").json()["workaround"] == "TCP profile."
    assert api.get(f"/api/v1/problems/{body['number']}/").json()["known_errors"] == [ke.json()["id"]]


def test_incidents_are_named_only_to_those_who_may_see_them(world: World) -> None:
    hospital = open_ticket(world.requester, title="Badge reader dead")
    bank = open_ticket(RequesterFactory(organisation=world.other_client), title="Bank badge reader dead")
    problem = services.create_problem(
        actor=Actor(user=world.supervisor), title="Badge readers", major_incident=bank, incidents=[hospital]
    )
    as_agent = api_client_for(world.agent).get(f"/api/v1/problems/{problem.number}/").json()
    assert as_agent["incidents"] == [hospital.number] and as_agent["major_incident"] is None
    as_supervisor = api_client_for(world.supervisor).get(f"/api/v1/problems/{problem.number}/").json()
    assert set(as_supervisor["incidents"]) == {hospital.number, bank.number}
    assert as_supervisor["major_incident"] == bank.number


def test_references_outside_the_agents_scope_are_refused(world: World) -> None:
    bank = open_ticket(RequesterFactory(organisation=world.other_client), title="Bank printer")
    rival_problem = services.create_problem(actor=Actor(user=world.other_provider_agent), title="Rival's")
    api = api_client_for(world.agent)
    for body in (
        {"title": "x", "incidents": [bank.pk]},
        {"title": "x", "major_incident": bank.pk},
        {"title": "x", "unknown": 1},
    ):
        response = api.post("/api/v1/problems/", body, format="json")
        assert response.status_code == 400, (body, response.json())
    response = api.post(
        "/api/v1/known-errors/",
        {"title": "x", "symptoms": "y", "workaround": "z", "problem": rival_problem.pk},
        format="json",
    )
    assert response.status_code == 400 and "problem" in response.json()["errors"]
    assert Problem.objects.count() == 1 and not KnownError.objects.exists()


def test_requesters_and_other_providers_see_nothing(world: World) -> None:
    agent = Actor(user=world.agent)
    problem = services.create_problem(actor=agent, title="Printers", incidents=[open_ticket(world.requester)])
    known_error = services.record_known_error(actor=agent, title="Printer", symptoms="Off.", workaround="On.")
    for user in (world.requester_user, world.manager_user, world.other_provider_agent):
        api = api_client_for(user)
        assert api.get("/api/v1/problems/").json()["results"] == []
        assert api.get("/api/v1/known-errors/").json()["results"] == []
        assert api.get(f"/api/v1/problems/{problem.number}/").status_code == 404
        assert api.get(f"/api/v1/known-errors/{known_error.pk}/").status_code == 404
    requester = api_client_for(world.requester_user)
    assert requester.post("/api/v1/problems/", {"title": "Mine"}, format="json").status_code == 403
    response = requester.post(
        "/api/v1/known-errors/", {"title": "a", "symptoms": "b", "workaround": "c"}, format="json"
    )
    assert response.status_code == 403
    assert Problem.objects.count() == 1 and KnownError.objects.count() == 1
