"""A supervisor's SLA morning in a real browser: the breach notification, the ticket, the report."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest

from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.sla import services as sla
from tierdesk.sla.tests.test_services import at, desk_policy
from tierdesk.testing.factories import PASSWORD, open_ticket
from tierdesk.testing.fixtures import World
from tierdesk.tickets import services

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.usefixtures("tasks_in_process")
def test_supervisor_follows_a_breach_from_notification_to_report(world: World, session: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    policy = desk_policy(world)
    sla.add_action(
        actor=Actor.system(),
        target=policy.targets.get(kind="first_response"),
        trigger="breach",
        action="notify_supervisor",
    )
    with clock.frozen(at(9)):
        ticket = open_ticket(world.requester, title="Theatre PC will not boot")
    sla.recompute_clocks(ticket.pk, now=at(9))
    assert sla.sweep(now=at(10, 1)).breaches == 1  # the hour to first response is gone
    with clock.frozen(at(10, 30)):
        services.reply(actor=Actor(user=world.supervisor), ticket=ticket, body="Sorry, on our way.")
    sla.recompute_clocks(ticket.pk, now=at(11))

    session.login(world.supervisor.email, PASSWORD)
    page = session.page
    nav = page.get_by_role("link", name=re.compile("^Notifications"))
    expect(nav).to_contain_text("1")  # the unread badge arrived
    nav.click()
    link = page.get_by_role("link", name=f"SLA breach: First response of {ticket.number} breached")
    expect(link).to_be_visible()
    session.screenshot("notifications")
    link.click()
    page.wait_for_url(f"**/console/tickets/{ticket.number}/")
    expect(page.get_by_text("recorded an SLA breach: First response (Service desk)")).to_be_visible()

    page.get_by_role("link", name="Reports").click()
    page.get_by_label("Priority").check()
    page.get_by_role("button", name="Show").click()
    table = page.get_by_role("table", name="SLA compliance")
    expect(table.get_by_role("row", name=re.compile(r"Hospital P3 Moderate 2026-12 0\.0 % .0.1."))).to_be_visible()
    session.screenshot("sla-compliance")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    saved = tmp_path / "report.csv"
    download.value.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text())))
    assert [(r["organisation"], r["month"], r["priority"], r["response_met"], r["breaches"]) for r in rows] == [
        ("Hospital", "2026-12", "P3 Moderate", "0", "1")
    ]
