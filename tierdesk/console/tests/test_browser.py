"""The console in a real browser (Chromium through Playwright): the agent's daily moves.

Each test fails on any dialog, script error or console error, which includes a
Content-Security-Policy violation, so the console must work with no inline script or style.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tierdesk.core.actor import Actor
from tierdesk.testing.factories import PASSWORD, SupportGroupFactory, open_ticket
from tierdesk.testing.fixtures import World
from tierdesk.tickets import services
from tierdesk.tickets.models import Attachment, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


# Every visible form control must have an accessible name (a <label>, aria-label or aria-labelledby).
UNNAMED_CONTROLS = """() => Array.from(document.querySelectorAll('input, select, textarea, button'))
  .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby') && !(el.tagName === 'BUTTON' && el.textContent.trim()))
  .map(el => el.outerHTML.slice(0, 120))"""


def _assert_labelled(page: Any) -> None:
    assert page.evaluate(UNNAMED_CONTROLS) == []


def test_agent_takes_an_unassigned_ticket_to_resolution(world: World, session: Any, tmp_path: Path) -> None:
    expect = _expect()
    ticket = open_ticket(world.requester, title="Infusion pump offline", description="Ward 3 pump shows **E42**")
    session.login(world.agent.email, PASSWORD)
    page = session.page
    expect(page).to_have_url(re.compile(r"/console/$"))
    page.get_by_role("navigation", name="Queues").get_by_role("link", name=re.compile("^Unassigned")).click()
    row = page.locator(f'tr[data-ticket="{ticket.number}"]')
    expect(row).to_be_visible()
    expect(page.locator('[data-count="unassigned"]')).to_have_text(re.compile(r"^1"))  # the live count arrived
    _assert_labelled(page)
    session.screenshot("console-queue")

    page.keyboard.press("j")  # the first row's link gets the focus
    expect(row.get_by_role("link", name=ticket.number)).to_be_focused()
    page.keyboard.press("o")
    page.wait_for_url(f"**/console/tickets/{ticket.number}/")
    page.wait_for_load_state()  # the shortcuts listen once console.js has run
    expect(page.get_by_role("heading", level=1)).to_contain_text("Infusion pump offline")
    _assert_labelled(page)

    page.keyboard.press("a")  # assign to me
    header = page.locator("#ticket-header")
    expect(header.locator('[data-field="assignee"]')).to_have_text("Alex Agent")
    expect(header.locator('[data-field="status"]')).to_have_text("Assigned")

    page.keyboard.press("r")
    expect(page.locator("#compose-body")).to_be_focused()
    page.keyboard.type("Please restart the pump while we check the **network**.")
    page.locator("#compose-submit").click()
    reply = page.locator(".entry-reply").last
    expect(reply).to_contain_text("Please restart the pump")
    expect(reply.locator(".prose strong")).to_have_text("network")
    expect(page.locator("#compose-body")).to_have_value("")

    log = tmp_path / "pump-log.txt"
    log.write_text("E42 at 10:02\n")
    page.locator("#compose-files").set_input_files(str(log))
    expect(page.locator("#upload-status")).to_contain_text("Attached pump-log.txt")
    expect(page.locator("#ticket-attachments")).to_contain_text("pump-log.txt")

    # A file dropped while writing an internal note stays internal.
    page.keyboard.press("n")
    expect(page.locator("#compose-submit")).to_have_text("Add internal note")
    dropped = page.evaluate_handle(
        "() => { const d = new DataTransfer(); d.items.add(new File(['ward 3'], 'ward-notes.txt')); return d; }"
    )
    page.dispatch_event("[data-dropzone]", "drop", {"dataTransfer": dropped})
    expect(page.locator("#upload-status")).to_contain_text("Attached ward-notes.txt (internal)")
    expect(page.locator("#ticket-attachments li").filter(has_text="ward-notes.txt")).to_contain_text("internal")
    page.keyboard.press("Escape")

    page.locator("#status-status").select_option("resolved")
    expect(page.locator("[data-resolution-fields]")).to_be_visible()
    page.locator("#status-resolution_code").select_option("fixed")
    page.locator("#status-resolution_notes").fill("Replaced the network cable.")
    page.locator("#status-submit").click()
    expect(header.locator('[data-field="status"]')).to_have_text("Resolved")
    expect(page.locator(".entry-event").last).to_contain_text("Replaced the network cable.")
    session.screenshot("console-ticket")

    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    expect(page.locator("#shortcuts-help")).to_be_focused()  # Bootstrap moves focus in once it is shown
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_hidden()

    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee, ticket.support_group) == ("resolved", world.agent, world.group)
    assert ticket.resolution_notes == "Replaced the network cable." and ticket.first_response_at is not None
    files = dict(Attachment.objects.filter(ticket=ticket).values_list("filename", "is_public"))
    assert files == {"pump-log.txt": True, "ward-notes.txt": False}


def test_logging_a_call_resolved_on_the_call(world: World, session: Any) -> None:
    expect = _expect()
    earlier = open_ticket(world.requester, title="Printer jam last week")
    session.login(world.agent.email, PASSWORD)
    page = session.page
    page.get_by_role("link", name="Log a call").click()
    page.get_by_label("Find the caller by name, e-mail or phone").press_sequentially("rita@hosp", delay=30)
    pick = page.get_by_role("button", name=re.compile("Rita Requester"))
    expect(pick).to_be_visible()
    pick.click()
    card = page.locator(".caller-card")
    expect(card.locator("[data-caller-organisation]")).to_have_text("Hospital")
    expect(card.get_by_label("Site")).to_have_value(str(world.site.pk))
    expect(card).to_contain_text(earlier.number)
    expect(page.get_by_label("Summary")).to_be_focused()
    page.get_by_label("Summary").fill("Caps lock stuck on")
    page.get_by_label("Impact").select_option("low")
    page.get_by_label("Notes", exact=True).fill("Showed the caller the key.")
    page.get_by_label(re.compile("^Resolved on the call")).check()
    expect(page.get_by_label("Resolution code")).to_be_visible()
    _assert_labelled(page)
    session.screenshot("console-call-form")
    page.get_by_role("button", name="Log the call").click()

    ticket = Ticket.objects.get(title="Caps lock stuck on")
    expect(page).to_have_url(re.compile(f"/console/tickets/{ticket.number}/$"))
    expect(page.get_by_role("status").first).to_contain_text(f"Call resolved on the call as {ticket.number}")
    assert (ticket.channel, ticket.status, ticket.resolved_on_first_contact) == ("phone", "resolved", True)
    assert (ticket.requester, ticket.site, ticket.assignee) == (world.requester, world.site, world.agent)


def test_bulk_assign_reports_the_ticket_it_could_not_change(world: World, session: Any) -> None:
    expect = _expect()
    network = SupportGroupFactory.create(organisation=world.provider, name="Network", tier=2, serves=[world.client])
    first = open_ticket(world.requester, title="Mouse broken")
    second = open_ticket(world.requester, title="Keyboard broken")
    foreign = open_ticket(world.requester, title="Switch down", support_group=network)  # not the agent's group
    session.login(world.agent.email, PASSWORD)
    page = session.page
    session.go("/console/?queue=unassigned")
    page.keyboard.press("/")
    expect(page.get_by_label("Search number, title, description or requester")).to_be_focused()
    page.keyboard.type("broken")
    page.keyboard.press("Enter")
    expect(page.locator("#queue-table tbody tr[data-ticket]")).to_have_count(2)
    expect(page.locator("#filter-status")).to_have_value("")  # "Any" is no filter
    page.get_by_role("link", name="Clear").click()
    expect(page.locator("#queue-table tbody tr[data-ticket]")).to_have_count(3)
    for ticket in (first, second, foreign):
        page.get_by_label(f"Select {ticket.number}").check()
    expect(page.locator("#bulk-selected")).to_have_text("3 selected")
    page.get_by_label("With the selected tickets").select_option("assign")
    page.get_by_label("Assign to").select_option("me")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("status").filter(has_text="Assigned 2 tickets")).to_be_visible()
    failure = page.get_by_role("status").filter(has_text=foreign.number)
    expect(failure).to_contain_text("is not a member of Network")
    for ticket in (first, second):
        ticket.refresh_from_db()
        assert ticket.assignee == world.agent
    foreign.refresh_from_db()
    assert foreign.assignee is None


def test_conflict_warning_when_someone_else_changed_the_ticket(world: World, session: Any, second_session: Any) -> None:
    expect = _expect()
    ticket = open_ticket(world.requester, title="VPN drops", support_group=world.group)
    session.login(world.agent.email, PASSWORD)
    second_session.login(world.supervisor.email, PASSWORD)
    session.go(f"/console/tickets/{ticket.number}/")
    second_session.go(f"/console/tickets/{ticket.number}/")

    other = second_session.page
    other.locator("#priority-impact").select_option("high")
    other.locator("#priority-urgency").select_option("high")
    other.locator("#priority-submit").click()
    expect(other.locator('#ticket-header [data-field="priority"]')).to_have_text("P1 Critical")

    page = session.page
    page.locator("#status-status").select_option("in_progress")
    page.locator("#status-submit").click()
    warning = page.get_by_role("alert").filter(has_text="Someone else changed this ticket")
    expect(warning).to_be_visible()
    # The agent's page is left as it was: the old priority, their unsent choice still selected.
    expect(page.locator('#ticket-header [data-field="priority"]')).to_have_text("P3 Moderate")
    expect(page.locator("#status-status")).to_have_value("in_progress")
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.status, ticket.version) == (1, "new", 2)

    warning.get_by_role("link", name="Reload the ticket").click()
    expect(page.locator('#ticket-header [data-field="priority"]')).to_have_text("P1 Critical")
    page.locator("#status-status").select_option("in_progress")
    page.locator("#status-submit").click()
    expect(page.locator('#ticket-header [data-field="status"]')).to_have_text("In progress")
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.status) == (1, "in_progress")


def test_requesters_never_see_the_console(world: World, session: Any) -> None:
    services.save_view(actor=Actor(user=world.agent), name="x", query="queue=all")
    session.login(world.requester_user.email, PASSWORD)
    response = session.go("/console/")
    assert "/console/" not in session.page.url
    assert response is not None


def test_j_and_k_walk_the_queue_from_the_ticket_page(world: World, session: Any) -> None:
    expect = _expect()
    older = open_ticket(world.requester, title="Older")
    newer = open_ticket(world.requester, title="Newer")
    session.login(world.agent.email, PASSWORD)
    page = session.page
    session.go("/console/?queue=unassigned")  # newest first: Newer, Older
    page.get_by_role("link", name=newer.number).click()
    page.wait_for_load_state()
    page.keyboard.press("j")
    expect(page).to_have_url(re.compile(f"/console/tickets/{older.number}/$"))
    page.wait_for_load_state()
    page.keyboard.press("k")
    expect(page).to_have_url(re.compile(f"/console/tickets/{newer.number}/$"))
