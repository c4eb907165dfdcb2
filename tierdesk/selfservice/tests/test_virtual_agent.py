"""The virtual agent: intents from many phrasings (and not from unrelated ones), the knowledge
base answer with its feedback and Tier 0 record, ticket status, and the hand-off."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest

from tierdesk.accounts.models import Requester
from tierdesk.audit.models import AuditEvent
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError, NotFound
from tierdesk.knowledge.models import ArticleFeedback, SearchLog
from tierdesk.knowledge.services import create_article
from tierdesk.selfservice import services, virtual_agent
from tierdesk.selfservice.choices import Automation, ConversationStatus, Tier0Kind, Tier0Outcome
from tierdesk.selfservice.intents import Intent, item_named, recognise, ticket_number_in
from tierdesk.selfservice.models import CatalogItem, ChatMessage, Conversation, Tier0Interaction
from tierdesk.testing import factories as f
from tierdesk.testing.fixtures import World
from tierdesk.tickets import services as tickets
from tierdesk.tickets.choices import Channel, TicketStatus

# --- recognition (no database) --------------------------------------------------------------------


@dataclass
class Item:
    pk: int
    name: str
    keywords: str = ""


CATALOGUE = [
    Item(1, "Microsoft Visio", "visio, diagrams"),
    Item(2, "Adobe Acrobat Pro", "acrobat, pdf editor"),
    Item(3, "Visio Viewer", ""),
]

PHRASINGS: dict[Intent, list[str]] = {
    Intent.RESET_PASSWORD: [
        "reset my password",
        "I forgot my password",
        "Forgotten password!",
        "I can't remember my password",
        "my password has expired",
        "I'm locked out of my account",
        "my account is locked",
        "need a new password please",
        "How do I change my pwd?",
    ],
    Intent.REQUEST_SOFTWARE: [
        "I need Visio",
        "can I get the PDF editor?",
        "visio",
        "I'd like to install some software",
        "request software",
        "I need a licence for Acrobat",
        "show me the software catalogue",
        "could I have Adobe Acrobat Pro please",
    ],
    Intent.TICKET_STATUS: [
        "what is the status of my ticket?",
        "any update on my request",
        "show my open tickets",
        "my tickets",
        "How is my incident going?",
        "INC0001234",
        "what about inc-1234",
        "any news on REQ 42?",
    ],
    Intent.PERSON: [
        "talk to a person",
        "Can I speak to someone please",
        "I want a real human",
        "agent",
        "connect me to the service desk",
        "let me chat with an agent",
        "please put me through to the help desk",
        "get me a human",
    ],
    Intent.THANKS: ["thanks", "Thank you!", "ok thanks", "bye", "that's all"],
}

UNRELATED = [
    "Outlook keeps asking for my password",
    "Visio keeps crashing when I open a diagram",
    "I have a problem with the application",
    "How do I set up an out of office reply?",
    "the printer on floor 3 is jammed",
    "Outlook search does not find old mails",
    "my mailbox is full",
    "The Teams chat won't let me add people",
    "How do I open a ticket?",
    "I need access to the shared drive",
    "how do I reset the printer",
]


@pytest.mark.parametrize(("intent", "line"), [(intent, line) for intent, lines in PHRASINGS.items() for line in lines])
def test_each_intent_is_recognised_from_several_phrasings(intent: Intent, line: str) -> None:
    recognised = recognise(line, catalogue=CATALOGUE)
    assert recognised.intent == intent, f"{line!r} -> {recognised}"
    assert recognised.rule  # explainable: the rule that fired is named


@pytest.mark.parametrize("line", UNRELATED)
def test_unrelated_questions_go_to_the_knowledge_base(line: str) -> None:
    assert recognise(line, catalogue=CATALOGUE).intent == Intent.KNOWLEDGE


def test_ticket_numbers_are_normalised_as_the_desk_writes_them() -> None:
    assert ticket_number_in("status of inc-1234?") == "INC0001234"
    assert ticket_number_in("REQ0000042") == "REQ0000042"
    assert ticket_number_in("no number here, 1234") == ""
    assert recognise("where is INC 77").ticket_number == "INC0000077"


def test_the_longest_matching_item_name_wins() -> None:
    assert item_named("I need the visio viewer", CATALOGUE) == CATALOGUE[2]
    assert item_named("I need visio", CATALOGUE) == CATALOGUE[0]
    assert recognise("I need Visio", catalogue=CATALOGUE).item_id == 1
    assert item_named("television", CATALOGUE) is None  # whole words only


# --- the conversation (database) ----------------------------------------------------------------


def _chat(world: World, *, session_key: str = "chat-session-1") -> Conversation:
    return services.start_conversation(
        actor=Actor(user=world.requester_user), requester=world.requester, session_key=session_key
    )


def _say(world: World, conversation: Conversation, body: str) -> ChatMessage:
    """What the requester typed, and the virtual agent's answer (the last bot line)."""
    services.post_message(actor=Actor(user=world.requester_user), conversation=conversation, body=body)
    conversation.refresh_from_db()
    bot = conversation.messages.filter(author="bot").order_by("-id").first()
    assert bot is not None
    return bot


@pytest.fixture
def articles(world: World) -> list[int]:
    author = Actor(user=world.admin)
    texts = [
        ("Set up an out of office reply in Outlook", "Open File, Automatic Replies, and write the reply."),
        ("Outlook keeps asking for the password", "Clear the saved credentials in Credential Manager."),
        ("Printer shows a paper jam", "Open tray 2 and remove the jammed paper."),
    ]
    return [
        create_article(actor=author, organisation=world.provider, title=title, body=body).pk for title, body in texts
    ]


def test_greeting_offers_what_the_agent_can_do(world: World) -> None:
    conversation = _chat(world)
    first = conversation.messages.order_by("id").first()
    assert first is not None and first.author == "bot"
    actions = {a["action"] for a in first.data["actions"]}
    assert {"reset_password", "catalogue", "ticket_status", "person"} <= actions


def test_knowledge_answer_then_it_helped_records_feedback_and_tier0(world: World, articles: list[int]) -> None:
    conversation = _chat(world)
    bot = _say(world, conversation, "how do I set up an out of office reply")
    assert bot.data["articles"][0]["id"] == articles[0]
    assert bot.data["articles"][0]["url"].endswith("/")
    assert len(bot.data["articles"]) <= 3
    helped = next(a for a in bot.data["actions"] if a["action"] == "article_helped")
    assert helped["payload"] == {"article": articles[0]}
    assert SearchLog.objects.filter(query__icontains="out of office", source="chat").exists()

    actor = Actor(user=world.requester_user)
    for _ in range(2):  # pressed twice: one record
        virtual_agent.handle_action(
            actor=actor, conversation=conversation, action="article_helped", payload=helped["payload"]
        )
    feedback = ArticleFeedback.objects.get(article_id=articles[0])
    assert feedback.helpful is True
    record = Tier0Interaction.objects.get(conversation=conversation)
    assert (record.kind, record.outcome, record.article_id) == (
        Tier0Kind.ARTICLE,
        Tier0Outcome.SELF_SERVICE,
        articles[0],
    )
    assert record.organisation_id == world.client.pk and record.requester_id == world.requester.pk


def test_article_not_helping_records_unhelpful_and_offers_a_person(world: World, articles: list[int]) -> None:
    conversation = _chat(world)
    bot = _say(world, conversation, "printer paper jam")
    top = bot.data["articles"][0]["id"]
    [answer] = virtual_agent.handle_action(
        actor=Actor(user=world.requester_user),
        conversation=conversation,
        action="article_not_helped",
        payload={"article": top},
    )
    assert ArticleFeedback.objects.get(article_id=top).helpful is False
    assert any(a["action"] == "person" for a in answer.data["actions"])
    assert not Tier0Interaction.objects.filter(conversation=conversation, outcome=Tier0Outcome.SELF_SERVICE).exists()


def test_no_article_found_says_so_and_offers_a_person(world: World, articles: list[int]) -> None:
    conversation = _chat(world)
    bot = _say(world, conversation, "quantum flux capacitor calibration")
    assert "couldn't find" in bot.body
    assert bot.data["actions"][0]["action"] == "person"
    assert SearchLog.objects.filter(result_count=0, source="chat").exists()


def test_no_talk_to_a_person_from_an_article_hands_off_and_marks_it_unhelpful(
    world: World, articles: list[int]
) -> None:
    conversation = _chat(world)
    bot = _say(world, conversation, "outlook keeps asking for the password")
    person = next(a for a in bot.data["actions"] if a["action"] == "person")
    [line] = virtual_agent.handle_action(
        actor=Actor(user=world.requester_user), conversation=conversation, action="person", payload=person["payload"]
    )
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.WAITING
    assert conversation.ticket is not None and conversation.ticket.channel == Channel.CHAT
    assert line.body == (
        f"I've passed this to the service desk; an agent will join shortly (ticket {conversation.ticket.number})."
    )
    assert ArticleFeedback.objects.get(article_id=person["payload"]["article"]).helpful is False
    assert "“Outlook keeps asking for the password” did not help" in conversation.ticket.description
    assert Tier0Interaction.objects.filter(conversation=conversation, outcome=Tier0Outcome.HANDED_TO_PERSON).exists()
    with pytest.raises(DomainError):  # the bot's buttons are done once a person has the chat
        virtual_agent.handle_action(
            actor=Actor(user=world.requester_user), conversation=conversation, action="ticket_status"
        )


def test_talk_to_a_person_typed(world: World) -> None:
    conversation = _chat(world)
    bot = _say(world, conversation, "I want to talk to a human")
    conversation.refresh_from_db()
    assert conversation.ticket is not None
    assert conversation.ticket.number in bot.body and "agent will join shortly" in bot.body


def test_password_intent_offers_the_form_not_a_chat_exchange(world: World) -> None:
    conversation = _chat(world)
    bot = _say(world, conversation, "I forgot my password")
    assert bot.data["form"] == {
        "url": f"/selfservice/chats/{conversation.pk}/password/",
        "label": "Reset my password",
    }


def test_ticket_status_shows_only_the_requesters_own_open_tickets(world: World) -> None:
    mine = f.open_ticket(world.requester, title="Laptop will not boot")
    closed = f.open_ticket(world.requester, title="Old one")
    tickets.transition(actor=Actor(user=world.agent), ticket=closed, to_status=TicketStatus.CANCELLED, reason="dup")
    colleague = f.open_ticket(world.colleague, title="Colleague's secret ticket")
    conversation = _chat(world)

    bot = _say(world, conversation, "what's the status of my tickets?")
    numbers = [row["number"] for row in bot.data["tickets"]]
    assert numbers == [mine.number]
    assert mine.number in bot.body and "Laptop will not boot" in bot.body
    assert colleague.number not in bot.body and closed.number not in bot.body
    assert bot.data["tickets"][0]["url"] == f"/portal/tickets/{mine.number}/"
    assert Tier0Interaction.objects.filter(
        conversation=conversation, kind=Tier0Kind.AUTOMATION, automation=Automation.TICKET_STATUS
    ).exists()

    named = _say(world, conversation, f"status of {mine.number}")
    assert mine.number in named.body and "new" in named.body
    hidden = _say(world, conversation, f"and {colleague.number}?")
    assert hidden.body.startswith(f"I can't find ticket {colleague.number}")


def test_ticket_status_for_a_manager_still_lists_only_their_own(world: World) -> None:
    manager = Requester.objects.get(user=world.manager_user)
    f.open_ticket(world.requester, title="Rita's ticket")
    conversation = services.start_conversation(actor=Actor(user=world.manager_user), requester=manager)
    services.post_message(actor=Actor(user=world.manager_user), conversation=conversation, body="my tickets")
    bot = conversation.messages.filter(author="bot").order_by("-id").first()
    assert bot is not None and bot.body == "You have no open tickets."


def test_actions_only_for_the_conversations_requester(world: World) -> None:
    conversation = _chat(world)
    with pytest.raises(NotFound):
        virtual_agent.handle_action(actor=Actor(user=world.manager_user), conversation=conversation, action="catalogue")
    with pytest.raises(DomainError):
        virtual_agent.handle_action(
            actor=Actor(user=world.requester_user), conversation=conversation, action="drop_tables"
        )


def test_software_intent_lists_the_catalogue_and_a_named_item_is_offered(world: World) -> None:
    visio = CatalogItem.objects.create(organisation=world.provider, name="Visio", keywords="diagrams")
    CatalogItem.objects.create(organisation=world.provider, name="Slack")
    elsewhere = CatalogItem.objects.create(organisation=world.provider, name="Bloomberg Terminal")
    elsewhere.offered_to.set([world.other_client])
    conversation = _chat(world)

    listing = _say(world, conversation, "I'd like to request some software")
    assert [a["label"] for a in listing.data["actions"]] == ["Slack", "Visio"]
    named = _say(world, conversation, "I need Visio")
    assert named.data["actions"][0] == {
        "label": "Request Visio",
        "action": "request_item",
        "payload": {"item": visio.pk},
    }
    later = _say(world, conversation, "I need Bloomberg Terminal")  # offered to another client only
    assert elsewhere.pk not in [a["payload"].get("item") for a in later.data.get("actions", [])]


def test_nothing_secret_is_logged_from_chat_lines(world: World, caplog: pytest.LogCaptureFixture) -> None:
    conversation = _chat(world)
    with caplog.at_level(logging.DEBUG):
        _say(world, conversation, "my password is Hunter2-Secret!")
    assert "Hunter2-Secret" not in caplog.text
    assert not AuditEvent.objects.filter(after__icontains="Hunter2-Secret").exists()


def test_the_greetings_buttons_each_answer(world: World) -> None:
    conversation = _chat(world)
    rita = Actor(user=world.requester_user)
    [form] = virtual_agent.handle_action(actor=rita, conversation=conversation, action="reset_password")
    assert form.data["form"]["label"] == "Reset my password"
    [shop] = virtual_agent.handle_action(actor=rita, conversation=conversation, action="catalogue")
    assert shop.body.startswith("There is no software in the catalogue for you")
    [status] = virtual_agent.handle_action(actor=rita, conversation=conversation, action="ticket_status")
    assert status.body == "You have no open tickets."
    [again] = virtual_agent.handle_action(actor=rita, conversation=conversation, action="ask_again")
    assert again.body == "Sure, what else can I help with?"
    services.close_conversation(actor=rita, conversation=conversation)
    with pytest.raises(DomainError, match="This chat has ended"):
        virtual_agent.handle_action(actor=rita, conversation=conversation, action="ask_again")
