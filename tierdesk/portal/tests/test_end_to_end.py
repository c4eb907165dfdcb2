"""The whole loop in two browsers: a requester in the portal, an agent in the console."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tierdesk.testing.browser import BrowserSession
from tierdesk.testing.factories import PASSWORD
from tierdesk.testing.fixtures import World
from tierdesk.tickets.models import Attachment, SatisfactionRating, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def test_submit_take_reply_resolve_rate(world: World, session: BrowserSession, second_session: BrowserSession) -> None:
    expect = _expect()
    requester, agent = session, second_session

    # The requester submits a ticket with an attachment.
    requester.login(world.requester_user.email, PASSWORD)
    requester.go("/portal/new/")
    page = requester.page
    page.select_option("#id_area", label="Hardware")
    page.wait_for_selector("#id_subcategory")
    page.fill("#id_title", "Docking station gives no picture")
    page.fill("#id_description", "Both monitors stay black since this morning.")
    page.set_input_files(
        "#id_attachments", files=[{"name": "dock.txt", "mimeType": "text/plain", "buffer": b"model WD19, fw 1.0.4"}]
    )
    page.click("text=Send to the service desk")
    page.wait_for_url(re.compile(r"/portal/tickets/INC\d{7}/$"))
    ticket = Ticket.objects.get(title="Docking station gives no picture")

    # The agent finds it under Unassigned, takes it and replies.
    agent.login(world.agent.email, PASSWORD)
    console = agent.page
    console.get_by_role("navigation", name="Queues").get_by_role("link", name=re.compile("^Unassigned")).click()
    row = console.locator(f'tr[data-ticket="{ticket.number}"]')
    expect(row).to_be_visible()
    row.get_by_role("link", name=ticket.number).click()
    console.wait_for_url(f"**/console/tickets/{ticket.number}/")
    console.wait_for_load_state()
    expect(console.locator("#ticket-attachments")).to_contain_text("dock.txt")
    console.keyboard.press("a")
    expect(console.locator('#ticket-header [data-field="assignee"]')).to_have_text("Alex Agent")
    console.keyboard.press("r")
    console.keyboard.type("Please unplug the dock for ten seconds and plug it back in.")
    console.locator("#compose-submit").click()
    expect(console.locator(".entry-reply").last).to_contain_text("unplug the dock")

    # The requester sees the reply in the portal.
    page.reload()
    expect(page.locator("#timeline")).to_contain_text("unplug the dock for ten seconds")

    # The agent resolves.
    console.locator("#status-status").select_option("resolved")
    console.locator("#status-resolution_code").select_option("fixed")
    console.locator("#status-resolution_notes").fill("Power-cycling the dock brought the picture back.")
    console.locator("#status-submit").click()
    expect(console.locator('#ticket-header [data-field="status"]')).to_have_text("Resolved")

    # The requester rates the resolution.
    page.reload()
    expect(page.locator("#resolution")).to_contain_text("Power-cycling the dock")
    page.get_by_label("4", exact=True).check()
    page.fill("#id_comment", "Worked, thanks.")
    page.click("text=Send rating")
    expect(page.locator("#rating-given")).to_contain_text("4 out of 5")

    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee, ticket.channel) == ("resolved", world.agent, "portal")
    assert ticket.first_response_at is not None
    assert list(Attachment.objects.filter(ticket=ticket).values_list("filename", flat=True)) == ["dock.txt"]
    rating = SatisfactionRating.objects.get(ticket=ticket)
    assert (rating.score, rating.comment) == (4, "Worked, thanks.")
