"""The ITIL impact x urgency matrix, its admin-editable rows, and priority following changes."""

from __future__ import annotations

import pytest

from tierdesk.core.actor import Actor
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World, api_client_for
from tierdesk.tickets import services
from tierdesk.tickets.models import PriorityRule

EXPECTED = {
    ("high", "high"): 1,
    ("high", "medium"): 2,
    ("medium", "high"): 2,
    ("high", "low"): 3,
    ("medium", "medium"): 3,
    ("low", "high"): 3,
    ("medium", "low"): 4,
    ("low", "medium"): 4,
    ("low", "low"): 5,
}


@pytest.mark.parametrize(("impact", "urgency"), list(EXPECTED))
def test_seeded_matrix(world: World, impact: str, urgency: str) -> None:
    assert PriorityRule.objects.count() == 9
    assert services.priority_for(impact, urgency) == EXPECTED[(impact, urgency)]
    ticket = open_ticket(world.requester, impact=impact, urgency=urgency)
    assert ticket.priority == EXPECTED[(impact, urgency)]


def test_edited_matrix_applies_to_new_and_changed_tickets(world: World) -> None:
    PriorityRule.objects.filter(impact="low", urgency="high").update(priority=2)
    assert open_ticket(world.requester, impact="low", urgency="high").priority == 2
    ticket = open_ticket(world.requester, impact="low", urgency="low")
    ticket = services.change_priority(actor=Actor(user=world.agent), ticket=ticket, impact="low", urgency="high")
    assert ticket.priority == 2
    assert ticket.timeline.filter(event="priority_changed").exists()
    assert ticket.field_changes.filter(field="priority", old_value="5", new_value="2").exists()


def test_unknown_level_is_refused(world: World) -> None:
    response = api_client_for(world.agent).post(
        "/api/v1/tickets/",
        {"requester": world.requester.pk, "title": "x", "impact": "catastrophic"},
        format="json",
    )
    assert response.status_code == 400
    assert "impact" in response.json()["errors"]
