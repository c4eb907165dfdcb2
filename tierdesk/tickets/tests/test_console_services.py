"""Services behind the console and portal: calls, watchers, ratings, saved views, announcements."""

from __future__ import annotations

import pytest

from tierdesk.audit.models import AuditEvent
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError, NotFound, PermissionDenied
from tierdesk.tenancy import services as tenancy
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World
from tierdesk.tickets import services
from tierdesk.tickets.choices import Channel, TicketStatus
from tierdesk.tickets.models import SatisfactionRating


def test_call_resolved_on_the_call(world: World) -> None:
    ticket = services.log_call(
        actor=Actor(user=world.agent),
        requester=world.requester,
        title="Caps lock stuck",
        notes="Showed the caller the key.",
        resolved_on_call=True,
    )
    assert ticket.channel == Channel.PHONE and ticket.status == TicketStatus.RESOLVED
    assert ticket.resolved_on_first_contact and ticket.assignee == world.agent and ticket.support_group == world.group
    assert ticket.resolution_notes == "Showed the caller the key."
    assert AuditEvent.objects.filter(action="ticket.resolved_on_first_contact", object_id=str(ticket.pk)).exists()


def test_call_left_open_is_the_agents(world: World) -> None:
    ticket = services.log_call(actor=Actor(user=world.agent), requester=world.requester, title="Monitor flickers")
    assert ticket.status == TicketStatus.ASSIGNED and not ticket.resolved_on_first_contact


def test_requesters_cannot_log_calls(world: World) -> None:
    with pytest.raises(PermissionDenied):
        services.log_call(actor=Actor(user=world.requester_user), requester=world.requester, title="x")


def test_watching(world: World) -> None:
    ticket = open_ticket(world.requester)
    actor = Actor(user=world.agent)
    assert services.set_watching(actor=actor, ticket=ticket, watching=True)
    assert services.set_watching(actor=actor, ticket=ticket, watching=True)  # idempotent
    assert list(ticket.watchers.all()) == [world.agent]
    assert not services.set_watching(actor=actor, ticket=ticket, watching=False)
    assert not ticket.watchers.exists()


def test_rating(world: World) -> None:
    ticket = open_ticket(world.requester)
    requester = Actor(user=world.requester_user)
    with pytest.raises(DomainError, match="once it is resolved"):
        services.rate_resolution(actor=requester, ticket=ticket, score=5)
    ticket = services.transition(
        actor=Actor(user=world.agent),
        ticket=ticket,
        to_status=TicketStatus.RESOLVED,
        resolution_code="fixed",
        resolution_notes="Done",
    )
    with pytest.raises(DomainError):
        services.rate_resolution(actor=requester, ticket=ticket, score=6)
    with pytest.raises(PermissionDenied):
        services.rate_resolution(actor=Actor(user=world.agent), ticket=ticket, score=1)
    services.rate_resolution(actor=requester, ticket=ticket, score=4, comment="Quick, thanks")
    services.rate_resolution(actor=requester, ticket=ticket, score=5)
    rating = SatisfactionRating.objects.get(ticket=ticket)
    assert (rating.score, rating.organisation_id, rating.requester_id) == (5, world.client.pk, world.requester.pk)


def test_saved_views_are_personal(world: World) -> None:
    view = services.save_view(actor=Actor(user=world.agent), name="My P1s", query="?priority=1&status=new")
    assert view.query == "priority=1&status=new"
    with pytest.raises(NotFound):
        services.delete_view(actor=Actor(user=world.supervisor), view_id=view.pk)
    services.delete_view(actor=Actor(user=world.agent), view_id=view.pk)


def test_announcements(world: World) -> None:
    from datetime import timedelta

    from tierdesk.core import clock

    actor = Actor(user=world.supervisor)
    banner = tenancy.post_announcement(actor=actor, organisation=world.client, title="Network outage at Main campus")
    assert tenancy.current_announcements(world.client.pk) == [banner]
    assert tenancy.current_announcements(world.other_client.pk) == []
    tenancy.end_announcement(actor=actor, announcement=banner)
    with clock.frozen(clock.now() + timedelta(seconds=1)):
        assert tenancy.current_announcements(world.client.pk) == []


def test_overlong_text_is_a_clear_refusal_on_every_database(world: World) -> None:
    from tierdesk.accounts import services as accounts

    with pytest.raises(DomainError, match="Title may be at most 250"):
        open_ticket(world.requester, title="x" * 251)
    with pytest.raises(DomainError, match="Phone may be at most 40"):
        accounts.create_requester(actor=Actor.system(), organisation=world.client, name="P", phone="1" * 41)
