"""Live chat hand-off: the transcript lands on a chat ticket, one agent takes a waiting chat,
scope keeps other organisations out, and the event stream over real HTTP delivers every line
once, resuming from Last-Event-ID, woken by the in-process and the Redis layer."""

from __future__ import annotations

import http.client
import json
import queue
import threading
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client

from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError, NotFound, PermissionDenied
from tierdesk.notifications.models import OutboxMessage
from tierdesk.selfservice import services
from tierdesk.selfservice.access import access_conversation
from tierdesk.selfservice.choices import Author, ConversationStatus, Tier0Kind, Tier0Outcome
from tierdesk.selfservice.models import ChatMessage, Conversation, Tier0Interaction
from tierdesk.testing import factories as f
from tierdesk.testing.fixtures import World, count_queries
from tierdesk.tickets import services as tickets
from tierdesk.tickets.choices import Channel, TimelineKind
from tierdesk.tickets.models import Ticket, TimelineEntry


def _requester(world: World) -> Actor:
    return Actor(user=world.requester_user)


def _chat(world: World) -> Conversation:
    return services.start_conversation(actor=_requester(world), requester=world.requester, session_key="s1")


def _waiting_chat(world: World, first_line: str = "My VPN drops every few minutes") -> tuple[Conversation, Ticket]:
    conversation = _chat(world)
    services.post_message(actor=_requester(world), conversation=conversation, body=first_line)
    ticket = services.hand_off(actor=_requester(world), conversation=conversation)
    return conversation, ticket


def _second_tier1_agent(world: World) -> Any:
    other = f.AgentFactory.create(organisation=world.provider, email="sam@northwind.test", full_name="Sam Second")
    world.group.memberships.create(agent=other)
    return other


# --- services -----------------------------------------------------------------------------------


def test_start_greets_once_and_reuses_the_open_chat(world: World) -> None:
    first = _chat(world)
    again = _chat(world)
    assert again.pk == first.pk
    lines = list(first.messages.order_by("id"))
    assert [m.author for m in lines] == [Author.BOT]  # the greeting, once
    assert first.organisation_id == world.client.pk and first.status == ConversationStatus.BOT


def test_hand_off_writes_the_transcript_in_order_on_a_chat_ticket(world: World) -> None:
    conversation = _chat(world)
    services.post_message(actor=_requester(world), conversation=conversation, body="My VPN drops every few minutes")
    services.add_bot_message(
        conversation=conversation,
        body="This article may help:",
        data={"articles": [{"id": 1, "title": "VPN keeps disconnecting", "url": "/kb/vpn/", "snippet": "…"}]},
    )
    services.post_message(actor=_requester(world), conversation=conversation, body="Tried that, still broken")

    ticket = services.hand_off(actor=_requester(world), conversation=conversation, reason="article did not help")

    assert ticket.channel == Channel.CHAT
    assert ticket.title == "My VPN drops every few minutes"
    assert ticket.requester_id == world.requester.pk
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.WAITING and conversation.queued_at is not None
    assert conversation.ticket_id == ticket.pk

    lines = list(ChatMessage.objects.transcript(conversation.pk))
    assert all(m.timeline_entry_id is not None for m in lines), "every line is on the ticket"
    entries = list(TimelineEntry.objects.filter(ticket=ticket).exclude(event="opened").order_by("created_at", "id"))
    assert [e.pk for e in entries] == [m.timeline_entry_id for m in lines]  # same order as the chat
    # Requester lines are the requester's public replies; the virtual agent's (its greeting, its
    # answers, the article we added) are public replies by "Virtual agent"; the last is the event.
    labels: dict[str, str] = {Author.REQUESTER: str(world.requester_user), Author.BOT: "Virtual agent"}
    for message, entry in zip(lines[:-1], entries[:-1], strict=True):
        assert (entry.kind, entry.author_label) == (TimelineKind.REPLY, labels[message.author])
        assert entry.body.startswith(message.body)
    said = [e.body for e in entries if e.kind == TimelineKind.REPLY and e.author_id == world.requester_user.pk]
    assert said == ["My VPN drops every few minutes", "Tried that, still broken"]
    article = next(e for e in entries if e.body.startswith("This article may help:"))
    assert "[VPN keeps disconnecting](/kb/vpn/)" in article.body
    assert entries[-1].event == "asked_for_a_person" and "article did not help" in entries[-1].data["reason"]
    assert {e.channel for e in entries if e.kind == TimelineKind.REPLY} == {Channel.CHAT}
    assert all(e.is_public for e in entries)

    # Asking twice gives the same ticket; the hand-off is a Tier 0 contact handed to a person.
    assert services.hand_off(actor=_requester(world), conversation=conversation).pk == ticket.pk
    assert Ticket.objects.filter(requester=world.requester).count() == 1
    interaction = Tier0Interaction.objects.get(conversation=conversation)
    assert (interaction.kind, interaction.outcome, interaction.ticket_id) == (
        Tier0Kind.HANDOFF,
        Tier0Outcome.HANDED_TO_PERSON,
        ticket.pk,
    )


def test_take_assigns_the_ticket_and_later_lines_land_on_it_without_mail(
    world: World, tasks_in_process: None, django_capture_on_commit_callbacks: Any
) -> None:
    conversation, ticket = _waiting_chat(world)
    agent = Actor(user=world.agent)
    assert list(Conversation.objects.waiting_for(agent)) == [conversation]

    services.take_conversation(actor=agent, conversation=conversation)
    assert conversation.status == ConversationStatus.LIVE and conversation.agent_id == world.agent.pk
    ticket.refresh_from_db()
    assert ticket.assignee_id == world.agent.pk and ticket.support_group_id == world.group.pk
    assert list(Conversation.objects.waiting_for(agent)) == []
    assert list(Conversation.objects.live_with(agent)) == [conversation]
    joined = conversation.messages.order_by("-id").first()
    assert joined is not None and joined.author == Author.SYSTEM and joined.body == "Alex joined the chat."

    with django_capture_on_commit_callbacks(execute=True):
        answer = services.post_message(actor=agent, conversation=conversation, body="Hi Rita, which VPN client?")
        back = services.post_message(actor=_requester(world), conversation=conversation, body="GlobalProtect")
    for line, author in ((answer, world.agent), (back, world.requester_user)):
        entry = TimelineEntry.objects.get(pk=line.timeline_entry_id or 0)
        assert (entry.kind, entry.author_id, entry.channel, entry.body) == (
            TimelineKind.REPLY,
            author.pk,
            Channel.CHAT,
            line.body,
        )
    # The requester read the agent's line live: it is not mailed to them as well...
    assert not OutboxMessage.objects.filter(ticket_id=ticket.pk, purpose="agent_reply").exists()
    # ...while a reply written on the ticket page still is.
    with django_capture_on_commit_callbacks(execute=True):
        tickets.reply(actor=agent, ticket=ticket, body="A summary for your records.")
    assert OutboxMessage.objects.filter(ticket_id=ticket.pk, purpose="agent_reply").count() == 1

    # Only the agent in the chat writes in it.
    with pytest.raises(PermissionDenied):
        services.post_message(actor=Actor(user=world.supervisor), conversation=conversation, body="Me too")

    services.close_conversation(actor=agent, conversation=conversation)
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.CLOSED and conversation.closed_at is not None
    last = conversation.messages.order_by("-id").first()
    assert last is not None and last.body == "Alex ended the chat."
    assert TimelineEntry.objects.filter(ticket=ticket, event="ended_the_chat").exists()
    with pytest.raises(DomainError, match="ended"):
        services.post_message(actor=_requester(world), conversation=conversation, body="Hello?")
    services.close_conversation(actor=_requester(world), conversation=conversation)  # closing twice is fine


def test_a_taken_chat_cannot_be_taken_again(world: World) -> None:
    conversation, _ = _waiting_chat(world)
    other = _second_tier1_agent(world)
    services.take_conversation(actor=Actor(user=world.agent), conversation=conversation)
    stale = Conversation.objects.get(pk=conversation.pk)
    with pytest.raises(DomainError, match="already taken by Alex Agent"):
        services.take_conversation(actor=Actor(user=other), conversation=stale)


@pytest.mark.django_db(transaction=True)
def test_two_agents_taking_at_once_exactly_one_wins(world: World) -> None:
    """Two threads, two database connections, the same waiting chat: one wins, one is told."""
    conversation, ticket = _waiting_chat(world)
    agents = [world.agent, _second_tier1_agent(world)]
    barrier = threading.Barrier(2)
    results: dict[int, str] = {}

    def take(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            stale = Conversation.objects.get(pk=conversation.pk)  # both read it while it waits
            services.take_conversation(actor=Actor(user=agents[i]), conversation=stale)
            results[i] = "won"
        except DomainError as exc:
            results[i] = exc.detail
        finally:
            connection.close()

    threads = [threading.Thread(target=take, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results.values())[1] == "won" and list(results.values()).count("won") == 1, results
    winner = next(i for i, r in results.items() if r == "won")
    loser = 1 - winner
    assert results[loser].startswith("This chat was already taken by")
    conversation.refresh_from_db()
    ticket.refresh_from_db()
    assert conversation.agent_id == agents[winner].pk == ticket.assignee_id
    assert conversation.messages.filter(body__endswith="joined the chat.").count() == 1


def test_other_organisations_and_agents_not_serving_it_stay_out(world: World) -> None:
    conversation, _ = _waiting_chat(world)
    banker = Actor(user=world.other_requester_user)  # a requester of another client
    with pytest.raises(NotFound):
        access_conversation(banker, conversation.pk)
    with pytest.raises(NotFound):
        services.post_message(actor=banker, conversation=conversation, body="Hi")
    with pytest.raises(NotFound):
        services.hand_off(actor=banker, conversation=conversation)
    colleague_user = f.requester_login(world.colleague)  # same organisation, not their chat
    with pytest.raises(NotFound):
        access_conversation(Actor(user=colleague_user), conversation.pk)
    rival = Actor(user=world.other_provider_agent)  # another provider's supervisor
    with pytest.raises(NotFound):
        access_conversation(rival, conversation.pk)
    assert not Conversation.objects.waiting_for(rival).exists()

    # An agent whose Tier 1 group serves only the bank neither sees the chat in the queue nor takes it.
    bank_agent = f.AgentFactory.create(organisation=world.provider, email="bea@northwind.test", full_name="Bea Bank")
    f.SupportGroupFactory.create(
        organisation=world.provider, name="Bank desk", tier=1, serves=[world.other_client], agents=[bank_agent]
    )
    assert not Conversation.objects.waiting_for(Actor(user=bank_agent)).exists()
    with pytest.raises(NotFound):
        services.take_conversation(actor=Actor(user=bank_agent), conversation=conversation)
    # A Tier 2 specialist serving the hospital reads the chat (as they read its ticket) but does not take it.
    specialist = f.AgentFactory.create(organisation=world.provider, email="tia@northwind.test", full_name="Tia Two")
    f.SupportGroupFactory.create(
        organisation=world.provider, name="Network", tier=2, serves=[world.client], agents=[specialist]
    )
    assert access_conversation(Actor(user=specialist), conversation.pk) == conversation
    assert not Conversation.objects.waiting_for(Actor(user=specialist)).exists()
    with pytest.raises(NotFound):
        services.take_conversation(actor=Actor(user=specialist), conversation=conversation)
    # A supervisor sees the whole provider's queue; a requester never takes.
    assert list(Conversation.objects.waiting_for(Actor(user=world.supervisor))) == [conversation]
    with pytest.raises(PermissionDenied):
        services.take_conversation(actor=_requester(world), conversation=conversation)


def test_bad_lines_are_refused_clearly(world: World) -> None:
    conversation = _chat(world)
    with pytest.raises(DomainError, match="needs some text"):
        services.post_message(actor=_requester(world), conversation=conversation, body="   ")
    with pytest.raises(DomainError, match="at most 4000 characters"):
        services.post_message(actor=_requester(world), conversation=conversation, body="x" * 4001)
    with pytest.raises(PermissionDenied, match="take it from the queue"):
        services.post_message(actor=Actor(user=world.agent), conversation=conversation, body="Hello")
    with pytest.raises(DomainError, match="not waiting"):
        services.take_conversation(actor=Actor(user=world.agent), conversation=conversation)


def test_the_console_queue_and_take_over_http(world: World, client: Client) -> None:
    conversation, ticket = _waiting_chat(world)
    client.force_login(world.agent)
    page = client.get("/selfservice/console/chats/")
    assert page.status_code == 200 and ticket.number in page.content.decode()
    badge = client.get("/selfservice/console/chats/badge/")
    assert 'data-chat-waiting="1"' in badge.content.decode()
    taken = client.post(f"/selfservice/console/chats/{conversation.pk}/take/")
    assert taken.status_code == 302 and taken["Location"] == f"/selfservice/console/chats/{conversation.pk}/"
    chat_page = client.get(taken["Location"])
    assert chat_page.status_code == 200 and b"data-chat-composer" in chat_page.content
    posted = client.post(f"/selfservice/chats/{conversation.pk}/messages/", {"body": ""})
    assert posted.status_code == 400 and posted.json()["detail"] == "A chat message needs some text."
    # A requester is sent away from the console; another client's requester gets a 404 for the chat.
    client.force_login(world.other_requester_user)
    assert client.post(f"/selfservice/chats/{conversation.pk}/messages/", {"body": "hi"}).status_code == 404
    assert client.get(f"/selfservice/chats/{conversation.pk}/events/").status_code == 404


def test_the_queue_page_makes_the_same_queries_however_many_wait(world: World, client: Client) -> None:
    client.force_login(world.agent)
    _waiting_chat(world)
    one = count_queries(lambda: client.get("/selfservice/console/chats/"))
    for name in ("Colin", "Mona", "Nina"):
        person = f.RequesterFactory.create(
            organisation=world.client, name=f"{name} Other", email=f"{name}@hospital.test"
        )
        login = f.requester_login(person)
        chat = services.start_conversation(actor=Actor(user=login), requester=person)
        services.post_message(actor=Actor(user=login), conversation=chat, body=f"{name} needs help")
        services.hand_off(actor=Actor(user=login), conversation=chat)
    assert Conversation.objects.waiting_for(Actor(user=world.agent)).count() == 4
    assert count_queries(lambda: client.get("/selfservice/console/chats/")) == one


def test_a_chat_left_with_the_bot_for_hours_starts_afresh(world: World) -> None:
    with clock.frozen(clock.now() - timedelta(hours=13)):
        old = _chat(world)
    new = _chat(world)
    assert new.pk != old.pk and new.status == ConversationStatus.BOT
    old.refresh_from_db()
    assert old.status == ConversationStatus.CLOSED
    # A chat waiting for a person is never dropped for being quiet.
    with clock.frozen(clock.now() - timedelta(hours=13)):
        services.post_message(actor=_requester(world), conversation=new, body="Printer on fire")
        services.hand_off(actor=_requester(world), conversation=new)
    assert _chat(world).pk == new.pk


# --- the event stream over real HTTP ------------------------------------------------------------


class Stream:
    """An SSE client on a real socket: a thread reads events into a queue."""

    def __init__(self, base_url: str, path: str, cookie: str, last_event_id: int | None = None) -> None:
        parts = urlsplit(base_url)
        self.conn = http.client.HTTPConnection(parts.hostname or "localhost", parts.port, timeout=60)
        headers = {"Cookie": cookie, "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.conn.request("GET", path, headers=headers)
        self.response = self.conn.getresponse()
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.comments = 0
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        event: dict[str, Any] = {}
        try:
            while True:
                raw = self.response.readline()
                if not raw:
                    break
                line = raw.decode().rstrip("\r\n")
                if not line:
                    if event:
                        self.events.put(event)
                    event = {}
                elif line.startswith(":"):
                    self.comments += 1
                else:
                    name, _, value = line.partition(": ")
                    event[name] = value
        finally:
            self.events.put(None)  # the server ended the response

    def next(self, kind: str = "message", timeout: float = 5.0) -> dict[str, Any] | None:
        """The next event of this kind (its data decoded), or None when the stream ended."""
        deadline = time.monotonic() + timeout
        while True:
            event = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            if event is None:
                return None
            if event.get("event") == kind:
                return {"id": event.get("id"), **json.loads(event["data"])}

    def rest(self, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Every message event until the server ends the response."""
        found = []
        while (event := self.next(timeout=timeout)) is not None:
            found.append(event)
        return found

    def close(self) -> None:
        self.conn.close()


def _cookie(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}"


@pytest.mark.django_db(transaction=True)
def test_a_waiting_stream_wakes_for_a_new_line(world: World, live_server: Any, settings: Any, chat_layer: str) -> None:
    # The heartbeat is far longer than the wait allowed below: only the layer can wake the stream.
    settings.TIERDESK_CHAT_HEARTBEAT_SECONDS = 20
    settings.TIERDESK_CHAT_STREAM_SECONDS = 25
    conversation = _chat(world)
    stream = Stream(live_server.url, f"/selfservice/chats/{conversation.pk}/events/", _cookie(world.requester_user))
    try:
        greeting = stream.next()
        assert greeting is not None and greeting["author"] == Author.BOT
        status = stream.next("status")
        assert status is not None and status["status"] == ConversationStatus.BOT
        time.sleep(0.5)  # the stream is now waiting on the layer
        started = time.monotonic()
        line = services.add_bot_message(conversation=conversation, body="Anything else I can do?")
        woke = stream.next(timeout=5)
        assert woke is not None and int(woke["id"]) == line.pk, woke
        assert "Anything else I can do?" in woke["html"]
        assert time.monotonic() - started < 5
    finally:
        stream.close()


@pytest.mark.django_db(transaction=True)
def test_last_event_id_resumes_without_loss_or_duplicates(world: World, live_server: Any, settings: Any) -> None:
    settings.TIERDESK_CHAT_STREAM_SECONDS = 1.5  # each response ends soon, as EventSource's do
    settings.TIERDESK_CHAT_HEARTBEAT_SECONDS = 0.5
    conversation = _chat(world)
    services.post_message(actor=_requester(world), conversation=conversation, body="First question")
    cookie = _cookie(world.requester_user)
    path = f"/selfservice/chats/{conversation.pk}/events/"

    first = Stream(live_server.url, path, cookie)
    seen = first.rest()
    first.close()
    assert [int(e["id"]) for e in seen] == list(
        ChatMessage.objects.filter(conversation=conversation).order_by("id").values_list("id", flat=True)
    )
    assert first.comments >= 1  # the heartbeat kept the idle stream alive

    # While nobody listens, two more lines; the reconnect names the last id it saw.
    services.post_message(actor=_requester(world), conversation=conversation, body="Second question")
    services.add_bot_message(conversation=conversation, body="Second answer")
    resumed = Stream(live_server.url, path, cookie, last_event_id=int(seen[-1]["id"]))
    again = resumed.rest()
    resumed.close()
    every = [int(e["id"]) for e in seen + again]
    assert every == sorted(set(every)), "no line twice, none out of order"
    assert every == list(
        ChatMessage.objects.filter(conversation=conversation).order_by("id").values_list("id", flat=True)
    ), "no line lost"
    assert len(again) >= 2


@pytest.mark.django_db(transaction=True)
def test_the_stream_ends_once_the_chat_is_closed(world: World, live_server: Any) -> None:
    conversation = _chat(world)
    services.close_conversation(actor=_requester(world), conversation=conversation)
    stream = Stream(live_server.url, f"/selfservice/chats/{conversation.pk}/events/", _cookie(world.requester_user))
    try:
        lines = []
        while (event := stream.events.get(timeout=10)) is not None:
            lines.append(event)
        kinds = [e.get("event") for e in lines]
        assert kinds[-1] == "end" and kinds.count("message") == 2  # greeting, "Rita left the chat."
    finally:
        stream.close()


# --- Tier 0 records of chats that end with the virtual agent -----------------------------------


def test_a_chat_left_with_the_bot_after_a_question_counts_as_abandoned(world: World) -> None:
    conversation = _chat(world)
    services.post_message(actor=_requester(world), conversation=conversation, body="Scanner shows error 42")
    services.close_conversation(actor=_requester(world), conversation=conversation)
    [abandoned] = Tier0Interaction.objects.filter(conversation=conversation)
    assert (abandoned.kind, abandoned.outcome) == (Tier0Kind.CHAT, Tier0Outcome.ABANDONED)
    assert abandoned.requester_id == world.requester.pk


def test_closing_a_chat_that_asked_nothing_or_already_ended_well_adds_no_record(world: World) -> None:
    quiet = _chat(world)
    services.close_conversation(actor=_requester(world), conversation=quiet)
    assert not Tier0Interaction.objects.filter(conversation=quiet).exists()
    helped = _chat(world)
    services.post_message(actor=_requester(world), conversation=helped, body="How do I add a printer?")
    services.record_tier0(
        actor=_requester(world),
        organisation=world.client,
        kind=Tier0Kind.ARTICLE,
        outcome=Tier0Outcome.SELF_SERVICE,
        conversation=helped,
    )
    services.close_conversation(actor=_requester(world), conversation=helped)
    assert list(Tier0Interaction.objects.filter(conversation=helped).values_list("outcome", flat=True)) == [
        Tier0Outcome.SELF_SERVICE
    ]


def test_a_quiet_chat_with_a_question_is_abandoned_when_the_next_one_starts(world: World) -> None:
    old = _chat(world)
    services.post_message(actor=_requester(world), conversation=old, body="Scanner shows error 42")
    with clock.frozen(clock.now() + timedelta(hours=13)):
        new = _chat(world)
    assert new.pk != old.pk
    assert Tier0Interaction.objects.get(conversation=old).outcome == Tier0Outcome.ABANDONED


def test_a_flood_of_lines_is_refused_with_a_clear_error_and_nothing_stored(world: World) -> None:
    conversation, _ticket = _waiting_chat(world)
    start = clock.now()
    with clock.frozen(start):
        posted = ChatMessage.objects.filter(conversation=conversation, author=Author.REQUESTER).count()
        for n in range(services.LINES_PER_MINUTE - posted):
            services.post_message(actor=_requester(world), conversation=conversation, body=f"line {n}")
        stored = conversation.messages.count()
        with pytest.raises(services.ChatFlooded) as refused:
            services.post_message(actor=_requester(world), conversation=conversation, body="one too many")
        assert refused.value.status_code == 429 and "wait a moment" in refused.value.detail
        assert conversation.messages.count() == stored
    # A minute later the requester may go on.
    with clock.frozen(start + timedelta(seconds=61)):
        services.post_message(actor=_requester(world), conversation=conversation, body="still there?")
