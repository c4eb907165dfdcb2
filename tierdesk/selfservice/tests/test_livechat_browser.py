"""The chat in two real browsers: a requester asks the virtual agent, gets an article, asks for a
person; an agent takes the chat in the console; they write to each other in real time; the
whole transcript, the bot's part included, is on the ticket, whose channel is chat."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tierdesk.core.actor import Actor
from tierdesk.knowledge.services import create_article
from tierdesk.selfservice.choices import ConversationStatus
from tierdesk.selfservice.models import Conversation
from tierdesk.testing.browser import BrowserSession
from tierdesk.testing.factories import PASSWORD
from tierdesk.testing.fixtures import World
from tierdesk.tickets.choices import Channel

pytestmark = pytest.mark.django_db(transaction=True)


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def test_requester_asks_the_bot_then_a_person_and_the_transcript_lands_on_the_ticket(
    world: World, session: BrowserSession, second_session: BrowserSession, settings: Any
) -> None:
    expect = _expect()
    # Short streams, so the browsers reconnect (with Last-Event-ID) several times during the test.
    settings.TIERDESK_CHAT_STREAM_SECONDS = 4
    settings.TIERDESK_CHAT_HEARTBEAT_SECONDS = 2
    create_article(
        actor=Actor(user=world.admin),
        organisation=world.provider,
        title="VPN disconnects every few minutes",
        body="Open GlobalProtect, choose **vpn2.northwind.example** as the portal and connect again.",
    )

    # The requester opens the chat from any portal page and asks the virtual agent.
    requester = session.page
    session.login(world.requester_user.email, PASSWORD)
    session.go("/portal/")
    requester.get_by_role("button", name="Chat with us").click()
    widget = requester.locator("#chat-panel")
    messages = widget.locator("[data-chat-messages]")
    expect(messages).to_contain_text("virtual agent")
    requester.fill("#chat-input", "My VPN disconnects every few minutes")
    requester.press("#chat-input", "Enter")
    expect(messages.locator(".chat-article")).to_contain_text("VPN disconnects every few minutes")
    session.screenshot("chat-widget-article")

    # It did not help: the requester asks for a person, and the chat waits in the queue.
    requester.fill("#chat-input", "I'd like to talk to a person please")
    requester.press("#chat-input", "Enter")
    expect(widget.locator("[data-chat-status]")).to_have_text("Waiting for an agent")
    expect(messages).to_contain_text("Rita asked for a person")
    conversation = Conversation.objects.get(requester=world.requester)
    assert conversation.status == ConversationStatus.WAITING and conversation.ticket is not None
    ticket = conversation.ticket

    # The agent, in another browser, sees it in the console's chat queue and takes it.
    agent = second_session.page
    second_session.login(world.agent.email, PASSWORD)
    second_session.go("/selfservice/console/chats/")
    row = agent.locator("#waiting-chats tr", has_text="Rita Requester")
    expect(row).to_contain_text(ticket.number)
    expect(agent.locator("nav")).to_contain_text("Chats 1")
    second_session.screenshot("chat-console-queue")
    row.get_by_role("button", name="Take chat").click()
    agent.wait_for_url(re.compile(rf"/selfservice/console/chats/{conversation.pk}/$"))
    transcript = agent.locator("[data-chat-messages]")
    expect(transcript).to_contain_text("My VPN disconnects every few minutes")
    expect(transcript).to_contain_text("VPN disconnects every few minutes")
    expect(transcript).to_contain_text("Alex joined the chat.")

    # Both ways, in real time: each sees the other's line without reloading.
    expect(messages).to_contain_text("Alex joined the chat.")
    expect(widget.locator("[data-chat-status]")).to_have_text("With an agent")
    agent.fill("#chat-input", "Hi Rita, which VPN client do you use?")
    agent.press("#chat-input", "Enter")
    expect(messages).to_contain_text("Hi Rita, which VPN client do you use?")
    requester.fill("#chat-input", "GlobalProtect, on the third floor")
    requester.press("#chat-input", "Enter")
    expect(transcript).to_contain_text("GlobalProtect, on the third floor")
    session.screenshot("chat-widget-live")
    second_session.screenshot("chat-console-live")

    # The agent ends the chat; the requester sees it end.
    agent.get_by_role("button", name="End chat").click()
    expect(messages).to_contain_text("Alex ended the chat.")
    expect(widget.locator("[data-chat-status]")).to_have_text("Closed")
    expect(requester.locator("#chat-input")).to_be_disabled()

    # The ticket holds the whole transcript, the virtual agent's part included; its channel is chat.
    second_session.go(f"/console/tickets/{ticket.number}/")
    timeline = agent.locator("#ticket-timeline")
    for text in (
        "Hello, I'm the virtual agent",
        "My VPN disconnects every few minutes",
        "This article may help",
        "I'd like to talk to a person please",
        "Hi Rita, which VPN client do you use?",
        "GlobalProtect, on the third floor",
    ):
        expect(timeline).to_contain_text(text)
    expect(timeline.get_by_role("link", name="VPN disconnects every few minutes")).to_be_visible()
    expect(timeline.locator(".entry", has_text="This article may help")).to_contain_text("Virtual agent")
    expect(agent.locator("body")).to_contain_text("via Chat")
    expect(agent.get_by_role("link", name="open the chat")).to_have_attribute(
        "href", f"/selfservice/console/chats/{conversation.pk}/"
    )
    second_session.screenshot("chat-ticket-transcript")
    ticket.refresh_from_db()
    assert ticket.channel == Channel.CHAT and ticket.assignee_id == world.agent.pk
