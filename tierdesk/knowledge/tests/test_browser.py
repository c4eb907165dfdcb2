"""The knowledge base in a real browser (Chromium through Playwright): a requester is offered an
article while typing a new ticket's title, reads it, and still submits; the agent inserts the
suggested article into the reply. Any dialog, script error or CSP violation fails the test."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tierdesk.console.tests.test_browser import _assert_labelled
from tierdesk.knowledge.models import ArticleFeedback, ArticleView, HelpSession
from tierdesk.knowledge.tests.conftest import Kb
from tierdesk.testing.browser import BrowserSession
from tierdesk.testing.factories import PASSWORD
from tierdesk.testing.fixtures import World
from tierdesk.tickets.models import Ticket, TimelineEntry

pytestmark = pytest.mark.django_db(transaction=True)


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def test_deflection_while_typing_then_insert_into_reply(
    world: World, kb: Kb, session: BrowserSession, second_session: BrowserSession
) -> None:
    expect = _expect()
    page = session.page
    session.login(world.requester_user.email, PASSWORD)
    session.go("/portal/new/")
    page.select_option("#id_area", label="Software")
    page.wait_for_selector("#id_subcategory")
    page.locator("#id_title").press_sequentially("Outlook keeps asking for my password", delay=15)
    deflection = page.locator("#kb-deflection")
    expect(deflection).to_contain_text("These articles may solve it")
    expect(deflection).to_contain_text(kb.outlook.title)
    expect(deflection).not_to_contain_text(kb.escalation.title)
    _assert_labelled(page)
    session.screenshot("kb-deflection")

    # The article opens in a new tab; the form keeps what was typed.
    with page.context.expect_page() as opened:
        deflection.get_by_role("link", name=re.compile(kb.outlook.title)).click()
    article_page = opened.value
    article_page.on("pageerror", lambda error: session.problems.page_errors.append(str(error)))
    article_page.wait_for_load_state()
    expect(article_page.get_by_role("heading", level=1)).to_have_text(kb.outlook.title)
    expect(article_page.locator("#kb-body")).to_contain_text("Credential Manager")
    article_page.fill("#kb-feedback-comment", "I have no Credential Manager entries.")
    article_page.get_by_role("button", name="No").click()
    expect(article_page.locator("#kb-feedback")).to_contain_text("We will improve this article")
    article_page.close()

    assert page.input_value("#id_title") == "Outlook keeps asking for my password"
    page.fill("#id_description", "The article did not help: there are no such entries.")
    page.click("text=Send to the service desk")
    page.wait_for_url(re.compile(r"/portal/tickets/INC\d{7}/$"))
    ticket = Ticket.objects.get(title="Outlook keeps asking for my password")
    help_session = HelpSession.objects.get(ticket=ticket)
    assert help_session.articles_viewed == 1
    assert ArticleView.objects.get(source="portal").session_key == help_session.session_key
    assert ArticleFeedback.objects.get().helpful is False

    # The help articles: live results as the requester types, in a labelled page.
    session.go("/kb/")
    page.locator("#kb-q").press_sequentially("password prompt", delay=15)
    expect(page.locator("#kb-live")).to_contain_text(kb.outlook.title)
    _assert_labelled(page)
    session.screenshot("kb-portal-home")

    # The agent sees the article suggested on the ticket and inserts it after the greeting.
    agent = second_session
    agent.login(world.agent.email, PASSWORD)
    agent.go(f"/console/tickets/{ticket.number}/")
    console = agent.page
    console.wait_for_load_state()  # the shortcuts listen once console.js has run
    card = console.locator("#ticket-articles")
    suggestion = card.locator(".article-suggestion", has_text=kb.outlook.title)
    expect(suggestion).to_be_visible()
    console.keyboard.press("r")
    console.keyboard.type("Hello Rita,")
    suggestion.get_by_role("button", name="Insert into reply").click()
    link = f"{agent.base_url}/kb/{kb.outlook.slug}/"
    expect(console.locator("#compose-body")).to_have_value(
        f"Hello Rita,\n\n**{kb.outlook.title}**\n\n{kb.outlook.summary}\n\nStep by step in our help article: <{link}>"
    )
    console.locator("#compose-submit").click()
    expect(console.locator(".entry-reply").last).to_contain_text(kb.outlook.title)
    # Screenshots last: Playwright hides the caret with inline styles, which htmx's settling would copy.
    agent.screenshot("kb-insert-into-reply")

    # The console's knowledge pages are labelled too; an edit is a new version, compared with the last.
    for path in ("/kb/console/", f"/kb/console/{kb.outlook.pk}/", f"/kb/console/{kb.outlook.pk}/edit/"):
        agent.go(path)
        _assert_labelled(console)
    body = console.locator("#id_body")
    body.fill(body.input_value() + "\nOn a Mac, open Keychain Access instead.\n")
    console.fill("#id_change_note", "Added the Mac")
    console.get_by_role("button", name="Save").click()
    expect(console.locator(".alert-success")).to_contain_text("Saved version 2")
    expect(console.locator("#kb-versions")).to_contain_text("Added the Mac")
    expect(console.locator("#kb-diff")).to_contain_text("+On a Mac, open Keychain Access instead.")
    _assert_labelled(console)
    agent.screenshot("kb-console-article")
    assert TimelineEntry.objects.filter(ticket=ticket, kind="reply", body__contains=link).exists()
    assert ArticleView.objects.filter(source="console", user=world.agent).count() == 1
