"""Tier metrics: first-contact resolution and the per-tier figures, their scope, page and API.

Every ticket is written through the ticket services at frozen moments, so the figures are
replayed from the same field history production writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tierdesk.accounts.models import GroupMembership, Requester, SupportGroup, User
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError
from tierdesk.reporting.tier_metrics import TierMetrics, TierRow, tier_metrics
from tierdesk.testing import factories as f
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World, api_client_for, count_queries
from tierdesk.tickets import services
from tierdesk.tickets.models import Ticket
from tierdesk.tickets.services import TicketChanges

DAY = datetime(2027, 3, 1, tzinfo=UTC)  # a Monday


def at(hour: int, minute: int = 0, days: int = 0) -> datetime:
    return DAY + timedelta(days=days, hours=hour, minutes=minute)


@dataclass
class Desk:
    """The world's Tier 1 service desk, plus a second Tier 1 group and a Tier 2 group."""

    world: World
    desktop: SupportGroup
    network: SupportGroup
    dana: User  # Tier 1, desktop support
    nina: User  # Tier 2, network

    def resolve(self, ticket: Ticket, by: User, when: datetime) -> Ticket:
        with clock.frozen(when):
            return services.transition(
                actor=Actor(user=by),
                ticket=ticket,
                to_status="resolved",
                resolution_code="fixed",
                resolution_notes="Ok.",
            )

    def take(self, ticket: Ticket, when: datetime) -> Ticket:
        """The Tier 1 agent takes the contact: the ticket is theirs, in the service desk group."""
        agent = self.world.agent
        with clock.frozen(when):
            return services.assign(
                actor=Actor(user=agent), ticket=ticket, assignee=agent, support_group=self.world.group
            )

    def opened(self, when: datetime, requester: Requester | None = None) -> Ticket:
        with clock.frozen(when):
            return open_ticket(requester or self.world.requester)


@pytest.fixture
def desk(world: World) -> Desk:
    dana = f.AgentFactory.create(organisation=world.provider, email="dana@northwind.test", full_name="Dana Desktop")
    nina = f.AgentFactory.create(organisation=world.provider, email="nina@northwind.test", full_name="Nina Network")
    desktop = f.SupportGroupFactory.create(
        organisation=world.provider, name="Desktop", tier=1, serves=[world.client], agents=[dana]
    )
    network = f.SupportGroupFactory.create(
        organisation=world.provider, name="Network", tier=2, serves=[world.client], agents=[nina]
    )
    return Desk(world=world, desktop=desktop, network=network, dana=dana, nina=nina)


@pytest.fixture
def handled(desk: Desk) -> dict[str, Ticket]:
    """Six resolved Hospital tickets and one Bank ticket, each one way through the desk."""
    world, agent = desk.world, desk.world.agent
    made: dict[str, Ticket] = {}

    # Taken and resolved by the Tier 1 agent: first contact. 2 h at Tier 1.
    made["fcr"] = desk.take(desk.opened(at(9)), at(9))
    desk.resolve(made["fcr"], agent, at(11))

    # Escalated to Tier 2 with a new group and assignee in one change, resolved there. 1 h + 4 h.
    escalated = desk.take(desk.opened(at(9)), at(9))
    with clock.frozen(at(10)):
        made["escalated"] = services.update_ticket(
            actor=Actor(user=agent),
            ticket=escalated,
            changes=TicketChanges(tier=2, support_group=desk.network, assignee=desk.nina),
            expected_version=None,
        )
    desk.resolve(made["escalated"], desk.nina, at(14))

    # Moved to another Tier 1 group, resolved there: a reassignment, no escalation. 3 h.
    reassigned = desk.take(desk.opened(at(9)), at(9))
    with clock.frozen(at(10)):
        made["reassigned"] = services.assign(
            actor=Actor(user=agent), ticket=reassigned, assignee=desk.dana, support_group=desk.desktop
        )
    desk.resolve(made["reassigned"], desk.dana, at(12))

    # Resolved, reopened by the requester, resolved again. 1 h + 1 h open; 2 h resolved do not count.
    reopened = desk.take(desk.opened(at(9)), at(9))
    desk.resolve(reopened, agent, at(10))
    with clock.frozen(at(12)):
        services.transition(actor=Actor(user=world.requester_user), ticket=reopened, to_status="in_progress")
    made["reopened"] = desk.resolve(reopened, agent, at(13))

    # A call resolved on the spot: first contact, 0 h.
    with clock.frozen(at(9)):
        made["call"] = services.log_call(
            actor=Actor(user=agent), requester=world.requester, title="Password reset", resolved_on_call=True
        )

    # Taken by the Tier 1 agent, resolved by a supervisor: not first contact. 1 h.
    made["taken_over"] = desk.take(desk.opened(at(9)), at(9))
    desk.resolve(made["taken_over"], world.supervisor, at(10))

    # The Bank's: resolved from the queue by a supervisor, never assigned: not first contact. 1.5 h.
    bank = Requester.objects.get(user=world.other_requester_user)
    made["bank"] = desk.resolve(desk.opened(at(9), bank), world.supervisor, at(10, 30))

    # Neither counts: one cancelled, one still open.
    cancelled = desk.opened(at(9))
    with clock.frozen(at(9, 30)):
        services.transition(actor=Actor(user=world.supervisor), ticket=cancelled, to_status="cancelled")
    desk.take(desk.opened(at(9)), at(9))
    return made


def _row(metrics: TierMetrics, tier: int) -> TierRow:
    return next(row for row in metrics.tiers if row.tier == tier)


def test_history_is_as_the_services_write_it(handled: dict[str, Ticket]) -> None:
    """What the report reads: field names and display values of tickets.services."""
    changes = list(handled["escalated"].field_changes.values_list("field", "old_value", "new_value"))
    assert changes == [
        ("status", "new", "assigned"),
        ("support_group", "", "Service Desk (T1)"),
        ("assignee", "", "Alex Agent"),
        ("tier", "1", "2"),
        ("support_group", "Service Desk (T1)", "Network (T2)"),
        ("assignee", "Alex Agent", "Nina Network"),
        ("status", "assigned", "resolved"),
    ]
    assert handled["call"].resolved_on_first_contact
    assert not handled["call"].field_changes.filter(field="assignee").exists()  # assigned when opened


def test_figures_over_the_whole_provider(world: World, handled: dict[str, Ticket]) -> None:
    metrics = tier_metrics(Actor(user=world.supervisor))
    # Seven resolved (cancelled and open ones left out); the plain Tier 1 one and the call are FCR.
    assert (metrics.resolved, metrics.first_contact, metrics.first_contact_percent) == (7, 2, 28.6)
    assert (metrics.reassignments, metrics.reassignments_per_ticket) == (2, 0.29)

    tier1, tier2, tier3, tier4 = metrics.tiers
    assert (tier1.tier, tier1.tickets, tier1.escalated, tier1.escalation_percent) == (1, 7, 1, 14.3)
    # Both group changes count at Tier 1: the escalation's was written with the tier change.
    assert (tier1.reassignments, tier1.reassignments_per_ticket) == (2, 0.29)
    assert tier1.seconds_at_tier == 10.5 * 3600  # 2 + 1 + 3 + (1 + 1) + 0 + 1 + 1.5 hours
    assert tier1.mean_hours_at_tier == 1.5
    assert (tier1.resolved_here, tier1.resolved_percent) == (6, 85.7)

    assert (tier2.tickets, tier2.escalated, tier2.escalation_percent, tier2.reassignments_per_ticket) == (
        1,
        0,
        0.0,
        0.0,
    )
    assert (tier2.mean_hours_at_tier, tier2.resolved_here, tier2.resolved_percent) == (4.0, 1, 14.3)

    for empty in (tier3, tier4):
        assert (empty.tickets, empty.escalation_percent, empty.mean_hours_at_tier) == (0, None, None)
        assert (empty.reassignments_per_ticket, empty.resolved_here, empty.resolved_percent) == (None, 0, 0.0)


def test_each_rule_of_first_contact_resolution(world: World, desk: Desk) -> None:
    """One ticket at a time: only a Tier 1 resolution by the agent who took the contact counts."""
    boss, agent = Actor(user=world.supervisor), world.agent
    empty = tier_metrics(boss)
    assert (empty.resolved, empty.first_contact, empty.first_contact_percent, empty.reassignments_per_ticket) == (
        0,
        0,
        None,
        None,
    )

    plain = desk.take(desk.opened(at(9)), at(9))
    desk.resolve(plain, agent, at(10))
    assert (tier_metrics(boss).resolved, tier_metrics(boss).first_contact) == (1, 1)

    # Escalated by a tier change alone (same group, same agent): not first contact.
    tiered = desk.take(desk.opened(at(9)), at(9))
    with clock.frozen(at(9, 30)):
        services.update_ticket(
            actor=Actor(user=agent), ticket=tiered, changes=TicketChanges(tier=2), expected_version=None
        )
    desk.resolve(tiered, agent, at(10))
    metrics = tier_metrics(boss)
    assert (metrics.resolved, metrics.first_contact, metrics.reassignments) == (2, 1, 0)
    assert (_row(metrics, 1).escalated, _row(metrics, 2).tickets, _row(metrics, 2).resolved_here) == (1, 1, 1)
    assert (_row(metrics, 1).mean_hours_at_tier, _row(metrics, 2).mean_hours_at_tier) == (0.75, 0.5)

    # Handed to a colleague in the same group, who resolved it: not first contact.
    sam = f.AgentFactory.create(organisation=world.provider, email="sam@northwind.test", full_name="Sam Second")
    GroupMembership.objects.create(group=world.group, agent=sam)
    handed = desk.take(desk.opened(at(9)), at(9))
    with clock.frozen(at(9, 30)):
        services.assign(actor=Actor(user=agent), ticket=handed, assignee=sam)
    desk.resolve(handed, sam, at(10))
    assert (tier_metrics(boss).resolved, tier_metrics(boss).first_contact) == (3, 1)

    # Given to the agent by a dispatcher, resolved by that agent: the contact was theirs.
    dispatched = desk.opened(at(9))
    with clock.frozen(at(9, 5)):
        services.assign(actor=boss, ticket=dispatched, assignee=agent, support_group=world.group)
    desk.resolve(dispatched, agent, at(10))
    assert tier_metrics(boss).first_contact == 2

    # A call logged but not resolved on it, then resolved by the agent who took it: first contact.
    with clock.frozen(at(9)):
        call = services.log_call(actor=Actor(user=agent), requester=world.requester, title="Slow laptop")
    assert not call.resolved_on_first_contact
    desk.resolve(call, agent, at(9, 45))
    metrics = tier_metrics(boss)
    assert (metrics.resolved, metrics.first_contact) == (5, 3)

    # Closing confirms the resolution and changes nothing.
    with clock.frozen(at(11)):
        services.transition(actor=boss, ticket=call, to_status="closed")
    assert (tier_metrics(boss).resolved, tier_metrics(boss).first_contact) == (5, 3)


def test_a_group_change_counts_at_the_tier_that_handed_the_ticket_on(world: World, desk: Desk) -> None:
    """On the real clock each history row has its own moment; one service call is still one write."""
    servers = f.SupportGroupFactory.create(
        organisation=world.provider, name="Servers", tier=2, serves=[world.client], agents=[desk.nina]
    )
    agent, nina = Actor(user=world.agent), Actor(user=desk.nina)
    ticket = open_ticket(world.requester)
    services.assign(actor=agent, ticket=ticket, assignee=world.agent, support_group=world.group)
    # The Tier 2 group brings the tier with it: tier and group change in one call, by Tier 1.
    services.assign(actor=agent, ticket=ticket, assignee=desk.nina, support_group=desk.network)
    services.assign(actor=nina, ticket=ticket, assignee=desk.nina, support_group=servers)  # Tier 2 moves it on
    services.transition(
        actor=nina, ticket=ticket, to_status="resolved", resolution_code="fixed", resolution_notes="Replaced."
    )
    metrics = tier_metrics(Actor(user=world.supervisor))
    assert (metrics.resolved, metrics.first_contact, metrics.reassignments) == (1, 0, 2)
    assert (_row(metrics, 1).escalated, _row(metrics, 1).reassignments) == (1, 1)
    assert (_row(metrics, 2).tickets, _row(metrics, 2).reassignments, _row(metrics, 2).resolved_here) == (1, 1, 1)


def test_a_call_resolved_on_the_spot_without_a_group_still_counts(world: World) -> None:
    """log_call assigns only when the agent's group serves the client; the flag still names the contact."""
    with clock.frozen(at(9)):
        call = services.log_call(
            actor=Actor(user=world.supervisor), requester=world.requester, title="Reset", resolved_on_call=True
        )
    assert call.assignee_id is None and call.resolved_on_first_contact
    metrics = tier_metrics(Actor(user=world.supervisor))
    assert (metrics.resolved, metrics.first_contact) == (1, 1)


def test_each_person_sees_only_their_organisations(world: World, handled: dict[str, Ticket]) -> None:
    agent = tier_metrics(Actor(user=world.agent))  # serves the Hospital only
    assert (agent.resolved, agent.first_contact, agent.first_contact_percent) == (6, 2, 33.3)
    assert (_row(agent, 1).escalation_percent, _row(agent, 1).mean_hours_at_tier) == (16.7, 1.5)
    assert (_row(agent, 1).resolved_percent, _row(agent, 2).resolved_percent) == (83.3, 16.7)

    manager = tier_metrics(Actor(user=world.manager_user))
    assert (manager.resolved, manager.first_contact) == (6, 2)

    bank = tier_metrics(Actor(user=world.supervisor), organisation_id=world.other_client.pk)
    assert (bank.resolved, bank.first_contact, _row(bank, 1).mean_hours_at_tier) == (1, 0, 1.5)
    assert tier_metrics(Actor(user=world.agent), organisation_id=world.other_client.pk).resolved == 0

    for outsider in (world.requester_user, world.other_requester_user, world.other_provider_agent):
        nothing = tier_metrics(Actor(user=outsider))
        assert (nothing.resolved, nothing.first_contact, _row(nothing, 1).tickets) == (0, 0, 0)
    assert tier_metrics(Actor.system()).resolved == 0


def test_period_is_the_final_resolution(world: World, handled: dict[str, Ticket]) -> None:
    boss = Actor(user=world.supervisor)
    day = DAY.date()
    assert tier_metrics(boss, resolved_from=day, resolved_until=day).resolved == 7
    assert tier_metrics(boss, resolved_from=day + timedelta(days=1)).resolved == 0
    assert tier_metrics(boss, resolved_until=day - timedelta(days=1)).resolved == 0
    with pytest.raises(DomainError, match="ends before"):
        tier_metrics(boss, resolved_from=day, resolved_until=day - timedelta(days=1))


def test_page(world: World, handled: dict[str, Ticket], client: Client) -> None:
    client.force_login(world.supervisor)
    page = client.get("/reports/tiers/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "28.6 %" in text and "(2/7)" in text and "1.5 h" in text and "14.3 %" in text
    assert 'href="/reports/sla/"' in text  # the two report pages link to each other
    assert 'href="/reports/tiers/"' in client.get("/reports/sla/").content.decode()

    bank = client.get(f"/reports/tiers/?organisation={world.other_client.pk}").content.decode()
    assert "0.0 %" in bank and "(0/1)" in bank
    assert "No resolved tickets" in client.get("/reports/tiers/?resolved_from=2030-01-01").content.decode()
    assert "ends before it starts" in (
        client.get("/reports/tiers/?resolved_from=2027-03-10&resolved_until=2027-03-01").content.decode()
    )

    client.force_login(world.agent)
    assert "33.3 %" in client.get("/reports/tiers/").content.decode()

    client.force_login(world.requester_user)
    assert client.get("/reports/tiers/").status_code == 302


def test_api(world: World, handled: dict[str, Ticket]) -> None:
    api = api_client_for(world.supervisor)
    body = api.get("/api/v1/reports/tier-metrics/").json()
    assert (body["resolved"], body["first_contact"], body["first_contact_percent"]) == (7, 2, 28.6)
    assert (body["reassignments"], body["reassignments_per_ticket"]) == (2, 0.29)
    assert [row["tier"] for row in body["results"]] == [1, 2, 3, 4]
    assert body["results"][0] == {
        "tier": 1,
        "tickets": 7,
        "escalated": 1,
        "escalation_percent": 14.3,
        "reassignments": 2,
        "reassignments_per_ticket": 0.29,
        "mean_hours_at_tier": 1.5,
        "resolved_here": 6,
        "resolved_percent": 85.7,
    }
    assert body["results"][3]["mean_hours_at_tier"] is None

    bank = api.get(f"/api/v1/reports/tier-metrics/?organisation={world.other_client.pk}&resolved_from=2027-03-01")
    assert (bank.json()["resolved"], bank.json()["first_contact_percent"]) == (1, 0.0)

    reversed_period = api.get("/api/v1/reports/tier-metrics/?resolved_from=2027-03-10&resolved_until=2027-03-01")
    assert reversed_period.status_code == 400 and "ends before it starts" in reversed_period.json()["detail"]
    assert api.get("/api/v1/reports/tier-metrics/?resolved_from=yesterday").status_code == 400
    assert api.get("/api/v1/reports/tier-metrics/?shape=round").status_code == 400
    foreign = api.get(f"/api/v1/reports/tier-metrics/?organisation={world.other_provider_client.pk}")
    assert foreign.status_code == 400

    manager = api_client_for(world.manager_user).get("/api/v1/reports/tier-metrics/").json()
    assert (manager["resolved"], manager["first_contact"]) == (6, 2)
    requester = api_client_for(world.requester_user).get("/api/v1/reports/tier-metrics/").json()
    assert (requester["resolved"], requester["first_contact_percent"]) == (0, None)
    assert api_client_for(None).get("/api/v1/reports/tier-metrics/").status_code == 401


def test_queries_do_not_grow_with_the_tickets(world: World, desk: Desk, handled: dict[str, Ticket]) -> None:
    boss = Actor(user=world.supervisor)
    tier_metrics(boss)  # the supervisor's scope is read once and kept
    with CaptureQueriesContext(connection) as before:
        tier_metrics(boss)
    for hour in (9, 10, 11):
        desk.resolve(desk.take(desk.opened(at(hour, days=1)), at(hour, days=1)), world.agent, at(hour + 1, days=1))
    with CaptureQueriesContext(connection) as after:
        assert tier_metrics(boss).resolved == 10
    assert len(before) == len(after) == REPORT_QUERIES


def test_query_counts(world: World, handled: dict[str, Ticket], client: Client) -> None:
    client.force_login(world.supervisor)
    page = count_queries(lambda: client.get("/reports/tiers/"))
    api = api_client_for(world.supervisor)
    endpoint = count_queries(lambda: api.get("/api/v1/reports/tier-metrics/"))
    assert (page, endpoint) == (PAGE_QUERIES, API_QUERIES)


REPORT_QUERIES = 3  # pinned: the tickets, their history, the agents who resolved or were first assigned
PAGE_QUERIES = 8  # session, user, scope (2), the report (3), the organisation choices
API_QUERIES = 7  # token (read, last used), scope (2), the report (3)
