"""The portal in a real browser: a requester opens a ticket with a file, follows it, replies,
and confirms and rates the resolution. The agent's part goes through the services."""

from __future__ import annotations

import re

import pytest

from tierdesk.core.actor import Actor
from tierdesk.tenancy.models import Announcement
from tierdesk.tenancy.services import post_announcement
from tierdesk.testing.browser import BrowserSession
from tierdesk.testing.factories import PASSWORD
from tierdesk.testing.fixtures import World
from tierdesk.tickets import services
from tierdesk.tickets.choices import ResolutionCode, TicketStatus, TicketType
from tierdesk.tickets.models import SatisfactionRating, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def _expect() -> object:
    from playwright.sync_api import expect

    return expect


def test_requester_submits_follows_confirms_and_rates(world: World, session: BrowserSession) -> None:
    expect = _expect()
    page = session.page
    post_announcement(
        actor=Actor.system(),
        organisation=world.client,
        title="Planned maintenance on Saturday",
        body="E-mail may be slow **from 8 to 10**.",
        severity=Announcement.Severity.WARNING,
    )
    session.login(world.requester_user.email, PASSWORD)

    # A new ticket, guided by category: the sub-categories and the hint follow the area.
    session.go("/portal/new/")
    expect(page.locator(".announcement")).to_contain_text("Planned maintenance on Saturday")  # type: ignore[operator]
    page.select_option("#id_area", label="Software")
    page.wait_for_selector("#id_subcategory")
    expect(page.locator("#category-hint")).to_contain_text("exact error message")  # type: ignore[operator]
    page.select_option("#id_subcategory", label="Installation request")
    expect(page.locator("#ticket-type")).to_contain_text("a service request")  # type: ignore[operator]
    expect(page.locator("#category-hint")).to_contain_text("manager's approval")  # type: ignore[operator]
    page.fill("#id_title", "Please install Visio")
    page.fill("#id_description", "I need it for the **floor plans** of the new wing.")
    page.select_option("#id_urgency", label="It can wait a few days")
    page.set_input_files(
        "#id_attachments",
        files=[
            {"name": "floor-plan.txt", "mimeType": "text/plain", "buffer": b"ground floor, wing C"},
            {"name": "approval.txt", "mimeType": "text/plain", "buffer": b"approved: M. Manager"},
        ],
    )
    session.screenshot("portal-submit")
    page.click("text=Send to the service desk")
    page.wait_for_url(re.compile(r"/portal/tickets/REQ\d{7}/$"))
    expect(page.locator(".alert-success")).to_contain_text("is with the service desk")  # type: ignore[operator]
    expect(page.locator("#attachments")).to_contain_text("floor-plan.txt")  # type: ignore[operator]
    expect(page.locator("#attachments")).to_contain_text("approval.txt")  # type: ignore[operator]
    ticket = Ticket.objects.get(title="Please install Visio")
    assert ticket.ticket_type == TicketType.SERVICE_REQUEST
    assert ticket.category is not None and ticket.category.path == "Software / Installation request"

    # My tickets lists it; the ticket page takes a reply.
    session.go("/portal/")
    row = page.locator("tr", has_text=ticket.number)
    expect(row).to_contain_text("Please install Visio")  # type: ignore[operator]
    expect(row).to_contain_text("Received")  # type: ignore[operator]
    session.screenshot("portal-my-tickets")
    row.get_by_role("link", name="Please install Visio").click()
    page.fill("#id_body", "Version 2024 please, if the licence allows.")
    page.click("text=Send reply")
    expect(page.locator("#timeline")).to_contain_text("Version 2024 please")  # type: ignore[operator]

    # The desk answers, notes something internal and resolves.
    agent = Actor(user=world.agent)
    ticket = services.assign(actor=agent, ticket=ticket, assignee=world.agent, support_group=world.group)
    services.reply(actor=agent, ticket=ticket, body="Installed Visio 2024; it is in your start menu.")
    services.add_note(actor=agent, ticket=ticket, body="Internal: licence taken from the pool of 5.")
    services.transition(
        actor=agent,
        ticket=ticket,
        to_status=TicketStatus.RESOLVED,
        resolution_code=ResolutionCode.REQUEST_FULFILLED,
        resolution_notes="Visio 2024 installed remotely.",
    )

    page.reload()
    expect(page.locator("#timeline")).to_contain_text("Installed Visio 2024")  # type: ignore[operator]
    expect(page.locator("body")).not_to_contain_text("licence taken from the pool")  # type: ignore[operator]
    expect(page.locator("#resolution")).to_contain_text("Visio 2024 installed remotely.")  # type: ignore[operator]
    expect(page.locator("#resolution")).to_contain_text("You can reopen it until")  # type: ignore[operator]
    page.click("text=Yes, close the ticket")
    expect(page.locator(".alert-success")).to_contain_text("the ticket is closed")  # type: ignore[operator]

    page.get_by_label("5", exact=True).check()
    page.fill("#id_comment", "Fast and friendly, thank you.")
    page.click("text=Send rating")
    expect(page.locator("#rating-given")).to_contain_text("5 out of 5")  # type: ignore[operator]
    session.screenshot("portal-ticket")

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED
    rating = SatisfactionRating.objects.get(ticket=ticket)
    assert (rating.score, rating.comment) == (5, "Fast and friendly, thank you.")


def test_a_too_big_file_is_refused_before_anything_is_sent(
    world: World, session: BrowserSession, settings: object
) -> None:
    expect = _expect()
    settings.TIERDESK_ATTACHMENT_MAX_BYTES = 1024  # type: ignore[attr-defined]
    page = session.page
    session.login(world.requester_user.email, PASSWORD)
    session.go("/portal/new/")
    page.select_option("#id_area", label="Hardware")
    page.wait_for_selector("#id_subcategory")
    page.fill("#id_title", "Cracked screen")
    page.fill("#id_description", "It fell off the desk.")
    page.set_input_files(
        "#id_attachments", files=[{"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": b"x" * 5000}]
    )
    expect(page.locator("#id_attachments_sizecheck")).to_contain_text("Too big: photo.jpg")  # type: ignore[operator]
    page.click("text=Send to the service desk")
    assert page.url.endswith("/portal/new/")
    assert page.input_value("#id_title") == "Cracked screen"
    assert page.input_value("#id_description") == "It fell off the desk."
    assert not Ticket.objects.exists()
    # A smaller file clears the message and the ticket goes through.
    page.set_input_files(
        "#id_attachments", files=[{"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": b"x" * 500}]
    )
    expect(page.locator("#id_attachments_sizecheck")).to_be_hidden()  # type: ignore[operator]
    page.click("text=Send to the service desk")
    page.wait_for_url(re.compile(r"/portal/tickets/INC\d{7}/$"))
    assert Ticket.objects.get().attachments.count() == 1
