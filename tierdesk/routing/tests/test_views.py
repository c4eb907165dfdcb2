"""Escalation from the console and the API, manual assignment's eligibility, and the routing admin."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client

from tierdesk.accounts import services as accounts
from tierdesk.core.actor import Actor
from tierdesk.routing import services as routing
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World, api_client_for

SYSTEM = Actor.system()


@pytest.fixture
def network(world: World):  # type: ignore[no-untyped-def]
    return accounts.create_support_group(
        actor=SYSTEM, provider=world.provider, name="Network team", tier=2, serves=[world.client]
    )


def test_console_escalates_with_a_note_and_shows_the_tier_history(
    world: World, network: object, client: Client
) -> None:
    ticket = open_ticket(world.requester, title="Switch port dead", support_group=world.group)
    client.force_login(world.agent)
    url = f"/console/tickets/{ticket.number}/escalate/"
    refused = client.post(url, {"version": ticket.version, "to_tier": 2, "note": ""}, HTTP_HX_REQUEST="true")
    assert "What was tried, or why it goes back: This field is required." in refused.content.decode()
    done = client.post(
        url,
        {"version": ticket.version, "to_tier": 2, "note": "Rebooted the switch."},
        HTTP_HX_REQUEST="true",
    )
    assert done.status_code == 200
    ticket.refresh_from_db()
    assert (ticket.tier, ticket.support_group) == (2, network)
    page = client.get(f"/console/tickets/{ticket.number}/").content.decode()
    assert 'aria-label="Tier history"' in page and "Tier 1 → Tier 2" in page
    assert "Escalation to Tier 2: Rebooted the switch." in page


def test_api_escalation(world: World, network: object) -> None:
    ticket = open_ticket(world.requester, title="Switch port dead", support_group=world.group)
    api = api_client_for(world.agent)
    url = f"/api/v1/tickets/{ticket.number}/escalate/"
    assert api.post(url, {"to_tier": 2, "note": "x"}, format="json").status_code == 428
    stale = api.post(url, {"to_tier": 2, "note": "x", "version": ticket.version + 5}, format="json")
    assert stale.status_code == 412
    missing_note = api.post(url, {"to_tier": 2, "note": " ", "version": ticket.version}, format="json")
    assert missing_note.status_code == 400
    nowhere = api.post(url, {"to_tier": 3, "note": "Vendor", "version": ticket.version}, format="json")
    assert nowhere.status_code == 400 and "No Tier 3 group serves Hospital" in nowhere.json()["detail"]
    done = api.post(url, {"to_tier": 2, "note": "Rebooted.", "version": ticket.version}, format="json")
    assert done.status_code == 200 and done.json()["tier"] == 2
    requester = api_client_for(world.requester_user)
    assert (
        requester.post(
            url, {"to_tier": 1, "note": "back", "version": done.json()["version"]}, format="json"
        ).status_code
        == 403
    )


def test_manual_assignment_obeys_eligibility(world: World, client: Client) -> None:
    accounts.set_agent_routing(actor=SYSTEM, agent=world.agent, availability="away")
    ticket = open_ticket(world.requester, title="Printer", support_group=world.group)
    client.force_login(world.supervisor)
    response = client.post(
        f"/console/tickets/{ticket.number}/assignee/",
        {"version": ticket.version, "assignee": world.agent.pk},
        HTTP_HX_REQUEST="true",
    )
    assert "Alex Agent is away" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_routing_configuration_in_the_admin(world: World, client: Client) -> None:
    routing.create_classification_rule(actor=SYSTEM, provider=world.provider, name="VPN", keywords="vpn")
    routing.create_routing_entry(actor=SYSTEM, provider=world.provider, support_group=world.group)
    routing.create_regulated_scope(actor=SYSTEM, client=world.client, regime="hipaa")
    accounts.record_training(
        actor=SYSTEM, agent=world.agent, regime="hipaa", completed_on=date(2026, 1, 1), expires_on=date(2027, 1, 1)
    )
    accounts.create_skill(actor=SYSTEM, provider=world.provider, name="Cisco")
    client.force_login(world.admin)
    for page in (
        "routing/classificationrule",
        "routing/routingentry",
        "routing/regulatedscope",
        "routing/agentshift",
        "accounts/skill",
        "accounts/trainingrecord",
        "accounts/supportgroup",
    ):
        assert client.get(f"/admin/{page}/").status_code == 200, page
    assert client.get(f"/admin/accounts/user/{world.agent.pk}/change/").status_code == 200
