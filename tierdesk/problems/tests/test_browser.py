"""Known errors on the ticket page in a real browser (Chromium through Playwright).

Like the console's browser tests, any dialog, script error or console error (a CSP violation
included) fails the test.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tierdesk.console.tests.test_browser import _assert_labelled, _expect
from tierdesk.problems.models import KnownErrorApplication, Problem
from tierdesk.problems.tests.conftest import Catalogue
from tierdesk.testing.factories import PASSWORD, open_ticket
from tierdesk.testing.fixtures import World
from tierdesk.tickets.models import TimelineEntry

pytestmark = pytest.mark.django_db(transaction=True)


def test_apply_a_suggested_workaround_then_raise_a_problem(world: World, catalogue: Catalogue, session: Any) -> None:
    expect = _expect()
    outlook = catalogue.known_errors["outlook"]
    ticket = open_ticket(world.requester, title="Outlook won't stop asking for my password", support_group=world.group)
    session.login(world.agent.email, PASSWORD)
    session.go(f"/console/tickets/{ticket.number}/")
    page = session.page
    page.wait_for_load_state()  # the shortcuts listen once console.js has run
    card = page.locator("#ticket-known-errors")
    suggestion = card.locator(".known-error-suggestion").first
    expect(suggestion).to_contain_text(outlook.title)
    _assert_labelled(page)

    page.keyboard.press("r")
    page.keyboard.type("Hello Rita,")
    suggestion.get_by_role("button", name="Apply workaround").click()
    expect(page.locator("#compose-body")).to_have_value(f"Hello Rita,\n\n{outlook.workaround}")
    expect(page.locator("#ticket-timeline .entry-event").last).to_contain_text("applied a known error")
    expect(card.locator(".known-error-suggestion").first).to_contain_text("Applied")
    page.locator("#compose-submit").click()
    expect(page.locator(".entry-reply").last).to_contain_text("Credential Manager")
    session.screenshot("console-known-error-applied")

    card.get_by_role("button", name="Raise a problem").click()
    page.wait_for_url(re.compile(r"/console/problems/PRB\d{7}/$"))
    expect(page.locator("#problem-incidents")).to_contain_text(ticket.number)
    _assert_labelled(page)
    session.screenshot("console-problem")

    assert KnownErrorApplication.objects.filter(ticket=ticket, known_error=outlook).exists()
    assert TimelineEntry.objects.filter(ticket=ticket, kind="reply", body__contains="Credential Manager").exists()
    assert list(Problem.objects.get(title=ticket.title).incidents.all()) == [ticket]
