"""The ticket API's contract: problem details, strict input, timeline rules, escaping."""

from __future__ import annotations

from django.test import Client

from tierdesk.accounts.models import ApiToken, hash_token
from tierdesk.core.actor import Actor
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World, api_client_for
from tierdesk.tickets import services
from tierdesk.tickets.models import Ticket

XSS = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def test_create_retrieve_and_location(world: World) -> None:
    client = api_client_for(world.agent)
    response = client.post(
        "/api/v1/tickets/",
        {
            "requester": world.requester.pk,
            "title": "VPN drops",
            "impact": "high",
            "urgency": "medium",
            "ticket_type": "service_request",
            "support_group": world.group.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["number"].startswith("REQ") and body["priority"] == 2 and body["channel"] == "api"
    assert body["organisation"]["id"] == world.client.pk and body["tier"] == 1
    assert response["Location"] == f"/api/v1/tickets/{body['number']}/"
    assert client.get(response["Location"]).json()["title"] == "VPN drops"


def test_unknown_fields_are_refused(world: World) -> None:
    response = api_client_for(world.agent).post(
        "/api/v1/tickets/", {"requester": world.requester.pk, "title": "x", "colour": "red"}, format="json"
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["errors"] == {"colour": ["Unknown field."]} and "colour" in body["detail"]
    assert not Ticket.objects.exists()


def test_malformed_json_is_a_problem_not_a_crash(world: World) -> None:
    response = api_client_for(world.agent).generic(
        "POST", "/api/v1/tickets/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["status"] == 400


def test_anonymous_gets_401_problem(db: None) -> None:
    response = Client().get("/api/v1/tickets/")
    assert response.status_code in (401, 403)
    assert response.json()["title"]
    assert Client().get("/api/v1/nowhere/").json()["status"] == 404


def test_tokens_are_hashed_and_revocable(world: World) -> None:
    client = api_client_for(world.agent)
    created = client.post("/api/v1/tokens/", {"name": "laptop"}, format="json").json()
    raw = created["token"]
    stored = ApiToken.objects.get(pk=created["id"])
    assert stored.key_hash == hash_token(raw) and raw not in (stored.key_hash, stored.prefix)
    assert "token" not in client.get(f"/api/v1/tokens/{stored.pk}/").json()
    own = api_client_for(None)
    own.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert own.get("/api/v1/tickets/").status_code == 200
    assert client.delete(f"/api/v1/tokens/{stored.pk}/").status_code == 204
    refused = own.get("/api/v1/tickets/")
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]


def test_session_writes_need_csrf(world: World) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.agent)
    response = browser.post(
        "/api/v1/tickets/", {"requester": world.requester.pk, "title": "x"}, content_type="application/json"
    )
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]


def test_requesters_see_public_timeline_only_and_cannot_note(world: World) -> None:
    ticket = open_ticket(world.requester)
    agent = Actor(user=world.agent)
    services.reply(actor=agent, ticket=ticket, body="We are on it")
    services.add_note(actor=agent, ticket=ticket, body="Password is on the sticky note")
    requester = api_client_for(world.requester_user)
    kinds = [entry["kind"] for entry in requester.get(f"/api/v1/tickets/{ticket.number}/timeline/").json()]
    assert "note" not in kinds and "reply" in kinds
    refused = requester.post(
        f"/api/v1/tickets/{ticket.number}/timeline/", {"kind": "note", "body": "hi"}, format="json"
    )
    assert refused.status_code == 403
    ok = requester.post(
        f"/api/v1/tickets/{ticket.number}/timeline/", {"kind": "reply", "body": "Thanks"}, format="json"
    )
    assert ok.status_code == 201 and ok.json()["is_public"]
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None  # set by the agent's reply, not the requester's


def test_colleague_without_manager_rights_sees_only_own_tickets(world: World) -> None:
    mine = open_ticket(world.requester)
    theirs = open_ticket(world.colleague)
    client = api_client_for(world.requester_user)
    numbers = {t["number"] for t in client.get("/api/v1/tickets/").json()["results"]}
    assert numbers == {mine.number}
    manager = api_client_for(world.manager_user)
    assert {t["number"] for t in manager.get("/api/v1/tickets/").json()["results"]} == {mine.number, theirs.number}


def test_filters(world: World) -> None:
    actor = Actor(user=world.agent)
    a = open_ticket(world.requester, title="Printer jam", impact="high", urgency="high")
    b = open_ticket(world.requester, title="VPN slow", support_group=world.group)
    services.assign(actor=actor, ticket=b, assignee=world.agent)
    client = api_client_for(world.agent)

    def numbers(query: str) -> set[str]:
        response = client.get(f"/api/v1/tickets/?{query}")
        assert response.status_code == 200, response.json()
        return {t["number"] for t in response.json()["results"]}

    assert numbers("priority=1") == {a.number}
    assert numbers("status=assigned") == {b.number}
    assert numbers(f"assignee={world.agent.pk}") == {b.number}
    assert numbers("unassigned=true") == {a.number}
    assert numbers("q=printer") == {a.number}
    assert numbers(f"q={b.number.lower()}") == {b.number}
    assert numbers(f"organisation={world.client.pk}&tier=1") == {a.number, b.number}
    assert numbers("created_after=2100-01-01T00:00:00Z") == set()
    assert client.get("/api/v1/tickets/?status=sleeping").status_code == 400


def test_html_is_stored_as_given_and_rendered_escaped(world: World) -> None:
    ticket = open_ticket(world.requester, title=XSS, description=XSS)
    services.reply(actor=Actor(user=world.agent), ticket=ticket, body=XSS)
    assert api_client_for(world.agent).get(f"/api/v1/tickets/{ticket.number}/").json()["title"] == XSS
    agent, requester = Client(), Client()
    agent.force_login(world.agent)
    requester.force_login(world.requester_user)
    pages = [
        (agent, "/console/?queue=all"),
        (agent, f"/console/tickets/{ticket.number}/"),
        (requester, "/portal/"),
        (requester, f"/portal/tickets/{ticket.number}/"),
    ]
    for browser, url in pages:
        response = browser.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert "<script>alert(2)</script>" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html


def test_agent_of_another_group_cannot_be_assigned(world: World) -> None:
    from tierdesk.testing.factories import AgentFactory

    outsider = AgentFactory(organisation=world.provider, email="outsider@northwind.test")
    ticket = open_ticket(world.requester)
    response = api_client_for(world.agent).patch(
        f"/api/v1/tickets/{ticket.number}/", {"assignee": outsider.pk, "version": 1}, format="json"
    )
    assert response.status_code == 400 and "does not work for" in response.json()["detail"]
