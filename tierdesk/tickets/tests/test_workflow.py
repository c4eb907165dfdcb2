"""Every (from, to) pair of the status state machine, legal and illegal."""

from __future__ import annotations

from datetime import timedelta
from itertools import product

import pytest

from tierdesk.audit.models import AuditEvent
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError, IllegalTransition, PermissionDenied
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World, api_client_for
from tierdesk.tickets import services, workflow
from tierdesk.tickets.choices import TicketStatus as S
from tierdesk.tickets.models import Ticket

ALL = list(S.values)

# How to bring a fresh ticket into each status through the services themselves.
PATHS: dict[str, list[str]] = {
    S.NEW: [],
    S.ASSIGNED: ["assign"],
    S.IN_PROGRESS: ["assign", S.IN_PROGRESS],
    S.PENDING_CUSTOMER: ["assign", S.PENDING_CUSTOMER],
    S.PENDING_VENDOR: ["assign", S.PENDING_VENDOR],
    S.PENDING_ENGINEERING: ["assign", S.PENDING_ENGINEERING],
    S.RESOLVED: ["assign", S.RESOLVED],
    S.CLOSED: ["assign", S.RESOLVED, S.CLOSED],
    S.CANCELLED: [S.CANCELLED],
}


def _resolve_kwargs(target: str) -> dict[str, str]:
    return {"resolution_code": "fixed", "resolution_notes": "Replaced the toner."} if target == S.RESOLVED else {}


def ticket_in(world: World, status: str) -> Ticket:
    actor = Actor(user=world.agent)
    ticket = open_ticket(world.requester, support_group=world.group)
    for step in PATHS[status]:
        if step == "assign":
            ticket = services.assign(actor=actor, ticket=ticket, assignee=world.agent)
        else:
            ticket = services.transition(actor=actor, ticket=ticket, to_status=step, **_resolve_kwargs(step))
    assert ticket.status == status
    return ticket


def test_table_covers_every_status() -> None:
    assert set(workflow.TRANSITIONS) == set(ALL)
    assert set(PATHS) == set(ALL)
    for targets in workflow.TRANSITIONS.values():
        assert targets <= set(ALL)


@pytest.mark.parametrize(("current", "target"), list(product(ALL, ALL)))
def test_every_pair(world: World, current: str, target: str) -> None:
    ticket = ticket_in(world, current)
    actor = Actor(user=world.agent)
    legal = target in workflow.TRANSITIONS[current]
    events_before = AuditEvent.objects.count()
    if not legal:
        with pytest.raises(IllegalTransition) as caught:
            services.transition(actor=actor, ticket=ticket, to_status=target, **_resolve_kwargs(target))
        assert caught.value.allowed == workflow.allowed_targets(current)
        ticket.refresh_from_db()
        assert ticket.status == current
        assert AuditEvent.objects.count() == events_before
        return
    result = services.transition(actor=actor, ticket=ticket, to_status=target, **_resolve_kwargs(target))
    ticket.refresh_from_db()
    assert ticket.status == result.status == target
    assert ticket.field_changes.filter(field="status", old_value=current, new_value=target).exists()
    assert ticket.timeline.filter(kind="event", data__new=target).exists()
    assert AuditEvent.objects.filter(object_id=str(ticket.pk)).latest("seq").action in {
        "ticket.status_changed",
        "ticket.reopened",
    }
    if target == S.RESOLVED:
        assert ticket.resolved_at is not None and ticket.resolution_code == "fixed"
    if target in workflow.TERMINAL:
        assert ticket.closed_at is not None


def test_resolving_needs_code_and_notes(world: World) -> None:
    ticket = ticket_in(world, S.IN_PROGRESS)
    actor = Actor(user=world.agent)
    with pytest.raises(DomainError, match="resolution code"):
        services.transition(actor=actor, ticket=ticket, to_status=S.RESOLVED)
    with pytest.raises(DomainError, match="resolution code"):
        services.transition(
            actor=actor, ticket=ticket, to_status=S.RESOLVED, resolution_code="fixed", resolution_notes=" "
        )


def test_assigned_follows_the_assignee(world: World) -> None:
    actor = Actor(user=world.agent)
    ticket = open_ticket(world.requester)
    with pytest.raises(IllegalTransition):
        services.transition(actor=actor, ticket=ticket, to_status=S.ASSIGNED)
    ticket = services.assign(actor=actor, ticket=ticket, assignee=world.agent)
    assert ticket.status == S.ASSIGNED
    ticket = services.assign(actor=actor, ticket=ticket, assignee=None)
    assert ticket.status == S.NEW


def test_reopen_within_window_only(world: World, settings: object) -> None:
    settings.TIERDESK_REOPEN_WINDOW_DAYS = 7  # type: ignore[attr-defined]
    requester = Actor(user=world.requester_user)
    ticket = ticket_in(world, S.RESOLVED)
    with clock.frozen(clock.now() + timedelta(days=6)):
        reopened = services.transition(actor=requester, ticket=ticket, to_status=S.IN_PROGRESS, reason="Still broken")
    assert reopened.status == S.IN_PROGRESS and reopened.reopen_count == 1 and reopened.resolved_at is None

    late = ticket_in(world, S.RESOLVED)
    with clock.frozen(clock.now() + timedelta(days=8)), pytest.raises(IllegalTransition) as caught:
        services.transition(actor=requester, ticket=late, to_status=S.IN_PROGRESS)
    assert caught.value.allowed == [S.CLOSED]


def test_requester_may_only_confirm_reopen_or_cancel(world: World) -> None:
    requester = Actor(user=world.requester_user)
    ticket = ticket_in(world, S.IN_PROGRESS)
    with pytest.raises(PermissionDenied):
        services.transition(actor=requester, ticket=ticket, to_status=S.PENDING_VENDOR)
    assert services.transition(actor=requester, ticket=ticket, to_status=S.CANCELLED).status == S.CANCELLED


def test_api_illegal_transition_is_409_listing_allowed(world: World) -> None:
    ticket = ticket_in(world, S.CLOSED)
    response = api_client_for(world.agent).post(
        f"/api/v1/tickets/{ticket.number}/transition/", {"status": S.IN_PROGRESS}, format="json"
    )
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["allowed"] == [] and "Closed" in body["detail"]

    open_one = ticket_in(world, S.NEW)
    response = api_client_for(world.agent).post(
        f"/api/v1/tickets/{open_one.number}/transition/", {"status": S.CLOSED}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["allowed"] == workflow.allowed_targets(S.NEW)


def test_api_resolve_without_notes_is_400(world: World) -> None:
    ticket = ticket_in(world, S.IN_PROGRESS)
    response = api_client_for(world.agent).post(
        f"/api/v1/tickets/{ticket.number}/transition/",
        {"status": S.RESOLVED, "resolution_code": "fixed"},
        format="json",
    )
    assert response.status_code == 400
    assert "resolution notes" in response.json()["detail"]
