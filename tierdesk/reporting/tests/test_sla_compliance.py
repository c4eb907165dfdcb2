"""SLA compliance: the figures, their scope, and the page, CSV and API that show them."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
from django.test import Client

from tierdesk.accounts.models import Requester
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError
from tierdesk.reporting.sla_compliance import parse_grouping, sla_compliance
from tierdesk.sla import services as sla
from tierdesk.sla.tests.test_services import at, desk_policy
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World, api_client_for, count_queries
from tierdesk.tickets import services
from tierdesk.tickets.models import Ticket

HOUR = 3600


def _handled(world: World, requester: Requester, reply_at: datetime, resolve_at: datetime | None) -> Ticket:
    agent = Actor(user=world.supervisor)  # supervisors see every client of the provider
    with clock.frozen(at(9)):
        ticket = open_ticket(requester)
    with clock.frozen(reply_at):
        services.reply(actor=agent, ticket=ticket, body="On it.")
    if resolve_at is not None:
        with clock.frozen(resolve_at):
            services.transition(
                actor=agent, ticket=ticket, to_status="resolved", resolution_code="fixed", resolution_notes="Fixed."
            )
    return ticket


@pytest.fixture
def handled(world: World) -> list[Ticket]:
    """Hospital: one ticket in time, one late on both targets. Bank: answered, open past its target."""
    desk_policy(world)  # office hours Mon-Fri 08-18 UTC; response 1 h, resolution 8 h
    bank = Requester.objects.get(user=world.other_requester_user)
    made = [
        _handled(world, world.requester, at(9, 30), at(11)),
        _handled(world, world.requester, at(10, 30), at(10, days=1)),  # 9 h Monday + 2 h Tuesday
        _handled(world, bank, at(9, 15), None),
    ]
    for ticket in made:
        sla.recompute_clocks(ticket.pk, now=at(12, days=1))
    return made


def test_figures_by_organisation(world: World, handled: list[Ticket]) -> None:
    rows = sla_compliance(Actor(user=world.supervisor), grouping=["organisation"])
    by_org = {row.keys["organisation"]: row for row in rows}
    assert list(by_org) == ["Bank", "Hospital"]
    hospital, bank = by_org["Hospital"], by_org["Bank"]
    assert (hospital.response_met, hospital.response_total, hospital.response_percent) == (1, 2, 50.0)
    assert (hospital.resolution_met, hospital.resolution_total, hospital.resolution_percent) == (1, 2, 50.0)
    assert hospital.breaches == 2
    assert hospital.mean_response_seconds == 1 * HOUR  # (30 + 90 minutes) / 2
    assert hospital.mean_resolution_seconds == 6.5 * HOUR  # (2 h + 11 h) / 2, business time
    # The Bank's ticket is still open, but 13 business hours in: its breach counts already.
    assert (bank.response_percent, bank.resolution_total, bank.resolution_percent, bank.breaches) == (100.0, 1, 0.0, 1)
    assert bank.mean_resolution_seconds is None  # no resolution time until it is resolved
    assert bank.mean_response_seconds == 0.25 * HOUR


def test_other_groupings_and_filters(world: World, handled: list[Ticket]) -> None:
    boss = Actor(user=world.supervisor)
    rows = sla_compliance(boss, grouping=["month", "priority", "tier", "group", "contract"])
    assert [row.keys for row in rows] == [
        {"month": "2026-12", "priority": "P3 Moderate", "tier": "Tier 1", "group": "(none)", "contract": "Standard"}
    ]
    assert rows[0].response_total == 3 and rows[0].breaches == 3
    assert sla_compliance(boss, grouping=["organisation"], organisation_id=world.other_client.pk)[0].keys == {
        "organisation": "Bank"
    }
    assert sla_compliance(boss, opened_from=at(0, days=1).date()) == []
    with pytest.raises(DomainError, match="ends before"):
        sla_compliance(boss, opened_from=at(0, days=1).date(), opened_until=at(0).date())
    with pytest.raises(DomainError, match="Unknown grouping colour"):
        parse_grouping(["organisation,colour"])


def test_each_person_sees_only_their_organisations(world: World, handled: list[Ticket]) -> None:
    manager = sla_compliance(Actor(user=world.manager_user), grouping=["organisation"])
    assert [row.keys["organisation"] for row in manager] == ["Hospital"]
    assert sla_compliance(Actor(user=world.requester_user), grouping=["organisation"]) == []
    assert sla_compliance(Actor(user=world.other_provider_agent), grouping=["organisation"]) == []


def test_page_and_csv(world: World, handled: list[Ticket], client: Client) -> None:
    client.force_login(world.supervisor)
    page = client.get("/reports/sla/?group_by=organisation")
    assert page.status_code == 200
    text = page.content.decode()
    assert "50.0 %" in text and "6 h 30 min" in text and "Client organisation" in text

    export = client.get("/reports/sla/export.csv?group_by=organisation&group_by=priority")
    assert export["Content-Type"] == "text/csv; charset=utf-8"
    assert export["Content-Disposition"].startswith('attachment; filename="sla-compliance-')
    table = list(csv.DictReader(io.StringIO(export.content.decode())))
    hospital = next(row for row in table if row["organisation"] == "Hospital")
    assert hospital["priority"] == "P3 Moderate"
    assert (hospital["response_percent"], hospital["breaches"], hospital["mean_resolution_minutes"]) == (
        "50.0",
        "2",
        "390.0",
    )

    bad = client.get("/reports/sla/export.csv?opened_from=2026-12-10&opened_until=2026-12-01")
    assert bad.status_code == 400 and "ends before it starts" in bad.content.decode()
    assert (
        "ends before it starts"
        in client.get("/reports/sla/?opened_from=2026-12-10&opened_until=2026-12-01").content.decode()
    )

    client.force_login(world.requester_user)
    assert client.get("/reports/sla/").status_code == 302


def test_csv_cells_never_run_as_formulas(world: World, handled: list[Ticket], client: Client) -> None:
    world.other_client.name = "=HYPERLINK(evil)"
    world.other_client.save(update_fields=["name"])
    client.force_login(world.supervisor)
    text = client.get("/reports/sla/export.csv?group_by=organisation").content.decode()
    assert "'=HYPERLINK(evil)" in text


def test_api(world: World, handled: list[Ticket]) -> None:
    api = api_client_for(world.supervisor)
    body = api.get("/api/v1/reports/sla-compliance/?group_by=organisation,tier").json()
    assert body["grouping"] == ["organisation", "tier"]
    hospital = next(row for row in body["results"] if row["keys"]["organisation"] == "Hospital")
    assert hospital["keys"]["tier"] == "Tier 1"
    assert (hospital["resolution_percent"], hospital["mean_response_seconds"]) == (50.0, 3600.0)

    bad = api.get("/api/v1/reports/sla-compliance/?group_by=colour")
    assert bad.status_code == 400 and "Unknown grouping colour" in bad.json()["detail"]
    assert api.get("/api/v1/reports/sla-compliance/?shape=round").status_code == 400
    foreign = api.get(f"/api/v1/reports/sla-compliance/?organisation={world.other_provider_agent.organisation_id}")
    assert foreign.status_code == 400

    manager = api_client_for(world.manager_user).get("/api/v1/reports/sla-compliance/?group_by=organisation")
    assert [row["keys"]["organisation"] for row in manager.json()["results"]] == ["Hospital"]


def test_query_counts(world: World, handled: list[Ticket], client: Client) -> None:
    client.force_login(world.supervisor)
    page = count_queries(lambda: client.get("/reports/sla/?group_by=organisation&group_by=month"))
    api = api_client_for(world.supervisor)
    endpoint = count_queries(lambda: api.get("/api/v1/reports/sla-compliance/?group_by=organisation,month"))
    assert (page, endpoint) == (PAGE_QUERIES, API_QUERIES)


PAGE_QUERIES = 6  # pinned: a grouping must never add a query per row
API_QUERIES = 5
