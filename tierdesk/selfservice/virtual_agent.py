"""The virtual agent: what the bot says to a requester's line, and what its buttons do.

`respond` recognises the line's intent (intents.py) and answers with one short bot message;
`handle_action` carries out a button the widget shows (an article helped, request this item,
talk to a person). Everything the bot writes goes through `services.add_bot_message`, and
every contact it settles is recorded with `services.record_tier0`. Secrets never pass here:
the password reset runs in its own form (views_selfservice.py), never through chat lines.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils.timezone import localtime

from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError, NotFound
from tierdesk.selfservice import catalogue
from tierdesk.selfservice.choices import Automation, ConversationStatus, Tier0Kind, Tier0Outcome
from tierdesk.selfservice.intents import Intent, Recognised, recognise
from tierdesk.selfservice.models import CatalogItem, ChatMessage, Conversation
from tierdesk.tickets.models import Ticket

logger = logging.getLogger(__name__)

ARTICLES_SHOWN = 3
ITEMS_SHOWN = 8
TICKETS_SHOWN = 5

GREETING = (
    "Hello, I'm the virtual agent. Ask me a question, or I can reset your password, "
    "request software, show your tickets, or pass you to a person."
)

PERSON_ACTION = {"label": "Talk to a person", "action": "person", "payload": {}}
ASK_AGAIN_ACTION = {"label": "Ask something else", "action": "ask_again", "payload": {}}


# --- helpers ------------------------------------------------------------------------------------


def _say(conversation: Conversation, body: str, data: dict[str, Any] | None = None) -> ChatMessage:
    from tierdesk.selfservice import services

    return services.add_bot_message(conversation=conversation, body=body, data=data or {})


def _record(
    actor: Actor,
    conversation: Conversation,
    kind: str,
    *,
    outcome: str = Tier0Outcome.SELF_SERVICE,
    article: Any = None,
    automation: str = "",
    ticket: Ticket | None = None,
) -> None:
    from tierdesk.selfservice import services

    services.record_tier0(
        actor=actor,
        organisation=conversation.organisation,
        kind=kind,
        outcome=outcome,
        article=article,
        automation=automation,
        conversation=conversation,
        ticket=ticket,
        requester=conversation.requester,
    )


def _url(name: str, args: list[Any], fallback: str) -> str:
    # Other parts of the desk may not have named their pages yet; a plain path still works.
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return fallback


def article_url(slug: str) -> str:
    return _url("knowledge:portal_article", [slug], f"/kb/{slug}/")


def ticket_url(number: str) -> str:
    return _url("portal:ticket", [number], f"/portal/tickets/{number}/")


def password_form_url(conversation: Conversation) -> str:
    return reverse("selfservice:password_reset", args=[conversation.pk])


def _action(label: str, action: str, **payload: Any) -> dict[str, Any]:
    return {"label": label, "action": action, "payload": payload}


# --- the conversation ---------------------------------------------------------------------------


def greet(*, conversation: Conversation, actor: Actor | None = None) -> ChatMessage:
    """The first bot line of a new conversation, with the things it can do as buttons."""
    return _say(
        conversation,
        GREETING,
        {
            "actions": [
                _action("Reset my password", "reset_password"),
                _action("Request software", "catalogue"),
                _action("My tickets", "ticket_status"),
                PERSON_ACTION,
            ]
        },
    )


def respond(
    *, actor: Actor, conversation: Conversation, message: ChatMessage | None = None, text: str | None = None
) -> list[ChatMessage]:
    """Answer one line of the requester (pass the message, or just its text)."""
    line = text if text is not None else (message.body if message is not None else "")
    items = list(catalogue.offered_to(conversation.requester)) if line.strip() else []
    recognised = recognise(line, catalogue=items)
    # The rule that fired, not the line: a line may hold something private.
    logger.info("virtual agent: conversation %s intent %s (%s)", conversation.pk, recognised.intent, recognised.rule)
    answer = _ANSWERS[recognised.intent]
    return answer(actor, conversation, line, recognised, items)


def _answer_person(
    actor: Actor, conversation: Conversation, line: str, recognised: Recognised, items: list[CatalogItem]
) -> list[ChatMessage]:
    # The line itself is in the transcript already; no reason to repeat it.
    return hand_to_person(actor=actor, conversation=conversation)


def _answer_status(
    actor: Actor, conversation: Conversation, line: str, recognised: Recognised, items: list[CatalogItem]
) -> list[ChatMessage]:
    return ticket_status(actor=actor, conversation=conversation, number=recognised.ticket_number)


def _answer_password(
    actor: Actor, conversation: Conversation, line: str, recognised: Recognised, items: list[CatalogItem]
) -> list[ChatMessage]:
    return [offer_password_reset(conversation=conversation)]


def _answer_software(
    actor: Actor, conversation: Conversation, line: str, recognised: Recognised, items: list[CatalogItem]
) -> list[ChatMessage]:
    named = next((i for i in items if i.pk == recognised.item_id), None)
    if named is not None:
        return [offer_item(conversation=conversation, item=named)]
    return [show_catalogue(conversation=conversation, items=items)]


def _answer_thanks(
    actor: Actor, conversation: Conversation, line: str, recognised: Recognised, items: list[CatalogItem]
) -> list[ChatMessage]:
    return [_say(conversation, "You're welcome. Is there anything else I can help with?")]


def _answer_knowledge(
    actor: Actor, conversation: Conversation, line: str, recognised: Recognised, items: list[CatalogItem]
) -> list[ChatMessage]:
    return [answer_from_knowledge(actor=actor, conversation=conversation, question=line)]


_ANSWERS: dict[Intent, Callable[[Actor, Conversation, str, Recognised, list[CatalogItem]], list[ChatMessage]]] = {
    Intent.PERSON: _answer_person,
    Intent.TICKET_STATUS: _answer_status,
    Intent.RESET_PASSWORD: _answer_password,
    Intent.REQUEST_SOFTWARE: _answer_software,
    Intent.THANKS: _answer_thanks,
    Intent.KNOWLEDGE: _answer_knowledge,
}


# --- answers ------------------------------------------------------------------------------------


def answer_from_knowledge(*, actor: Actor, conversation: Conversation, question: str) -> ChatMessage:
    """The best articles for the question, and "did that solve it?" (the search logs itself,
    a question with no answer included)."""
    from tierdesk.knowledge.search import search_articles

    hits = search_articles(
        question, actor=actor, limit=ARTICLES_SHOWN, source="chat", session_key=conversation.session_key
    )
    if not hits:
        return _say(
            conversation,
            "Sorry, I couldn't find an answer to that. Would you like to talk to a person?",
            {"actions": [PERSON_ACTION, ASK_AGAIN_ACTION]},
        )
    top = hits[0].article
    return _say(
        conversation,
        "These articles may help:" if len(hits) > 1 else "This article may help:",
        {
            "articles": [
                {"id": h.article.pk, "title": h.article.title, "url": article_url(h.article.slug), "snippet": h.snippet}
                for h in hits
            ],
            "actions": [
                _action("Yes, that solved it", "article_helped", article=top.pk),
                _action("No, talk to a person", "person", article=top.pk),
                ASK_AGAIN_ACTION,
            ],
        },
    )


def offer_password_reset(*, conversation: Conversation) -> ChatMessage:
    return _say(
        conversation,
        "I can reset your password. I'll send a one-time code to your registered e-mail address.",
        {"form": {"url": password_form_url(conversation), "label": "Reset my password"}},
    )


def show_catalogue(*, conversation: Conversation, items: list[CatalogItem] | None = None) -> ChatMessage:
    items = items if items is not None else list(catalogue.offered_to(conversation.requester))
    if not items:
        return _say(
            conversation,
            "There is no software in the catalogue for you. A person can help with other requests.",
            {"actions": [PERSON_ACTION]},
        )
    shown = items[:ITEMS_SHOWN]
    more = " (or type its name)" if len(items) > ITEMS_SHOWN else ""
    return _say(
        conversation,
        f"Which software do you need{more}?",
        {"actions": [_action(item.name, "request_item", item=item.pk) for item in shown]},
    )


def offer_item(*, conversation: Conversation, item: CatalogItem) -> ChatMessage:
    if item.requires_approval:
        body = f"{item.name} needs approval by {item.approver_group.name if item.approver_group else 'a manager'}."
    else:
        body = f"I can request {item.name} for you."
    return _say(
        conversation,
        f"{body} Shall I request it?",
        {"actions": [_action(f"Request {item.name}", "request_item", item=item.pk), _action("Show all", "catalogue")]},
    )


def request_software(*, actor: Actor, conversation: Conversation, item_id: int) -> list[ChatMessage]:
    """Open the service request for a catalogue item and say where it went."""
    try:
        item = catalogue.access_catalog_item(actor, requester=conversation.requester, item_id=item_id)
        ticket = catalogue.request_item(
            actor=actor, requester=conversation.requester, item=item, conversation=conversation
        )
    except DomainError as exc:
        return [_say(conversation, f"I couldn't request that: {exc.detail}", {"actions": [PERSON_ACTION]})]
    if item.requires_approval:
        group = item.approver_group.name if item.approver_group else "the approvers"
        body = f"Done: {ticket.number} is waiting for approval by {group}. You can follow it under My tickets."
    elif item.fulfilment_group is not None:
        body = f"Done: {ticket.number} has been sent to {item.fulfilment_group.name}."
    else:
        body = f"Done: {ticket.number} has been sent to the service desk."
    _record(actor, conversation, Tier0Kind.AUTOMATION, automation=Automation.SOFTWARE_REQUEST, ticket=ticket)
    return [_say(conversation, body, {"tickets": [_ticket_row(ticket)]})]


def _ticket_row(ticket: Ticket) -> dict[str, Any]:
    return {
        "number": ticket.number,
        "title": ticket.title,
        "status": ticket.get_status_display(),
        "updated": f"{localtime(ticket.updated_at):%d %b %Y %H:%M}",
        "url": ticket_url(ticket.number),
    }


def ticket_status(*, actor: Actor, conversation: Conversation, number: str = "") -> list[ChatMessage]:
    """The requester's open tickets, or the one they named if they may see it."""
    from tierdesk.tickets.access import access_ticket

    if number:
        try:
            ticket = access_ticket(actor, number=number)
        except NotFound:
            return [_say(conversation, f"I can't find ticket {number}. Check the number, or ask a person.")]
        rows = [_ticket_row(ticket)]
        status = ticket.get_status_display().lower()
        body = f"{ticket.number} “{ticket.title}” is {status}, last updated {rows[0]['updated']}."
    else:
        mine = (
            Ticket.objects.visible_to(actor)
            .open()
            .filter(requester_id=conversation.requester_id)
            .order_by("-updated_at", "-id")[: TICKETS_SHOWN + 1]
        )
        tickets = list(mine)
        if not tickets:
            _record(actor, conversation, Tier0Kind.AUTOMATION, automation=Automation.TICKET_STATUS)
            return [_say(conversation, "You have no open tickets.")]
        rows = [_ticket_row(t) for t in tickets[:TICKETS_SHOWN]]
        lines = [f"{r['number']} “{r['title']}”: {r['status']} (updated {r['updated']})" for r in rows]
        more = "\nThere are more in the portal." if len(tickets) > TICKETS_SHOWN else ""
        body = "Your open tickets:\n" + "\n".join(lines) + more
    _record(actor, conversation, Tier0Kind.AUTOMATION, automation=Automation.TICKET_STATUS)
    return [_say(conversation, body, {"tickets": rows})]


def hand_to_person(
    *, actor: Actor, conversation: Conversation, reason: str = "", article_id: int | None = None
) -> list[ChatMessage]:
    """Talk to a person: the chat goes to the queue with a ticket (services.hand_off records
    the hand-off itself). An article that did not help is marked so first."""
    from tierdesk.selfservice import services

    if article_id is not None:
        article = _article_feedback(actor, conversation, article_id, helpful=False)
        reason = reason or f"the article “{article.title}” did not help"
    if conversation.status != ConversationStatus.BOT:
        return [_say(conversation, "You are already in the queue for a person; an agent will join shortly.")]
    ticket = services.hand_off(actor=actor, conversation=conversation, reason=reason)
    return [
        _say(
            conversation,
            f"I've passed this to the service desk; an agent will join shortly (ticket {ticket.number}).",
        )
    ]


def _article_feedback(actor: Actor, conversation: Conversation, article_id: Any, *, helpful: bool) -> Any:
    from tierdesk.knowledge.access import access_article
    from tierdesk.knowledge.services import record_feedback

    article = access_article(actor, _int(article_id, "article"))
    record_feedback(actor=actor, article=article, helpful=helpful, session_key=conversation.session_key)
    return article


def _int(value: Any, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DomainError(f"The {what} must be given by its number.") from None


# --- buttons ------------------------------------------------------------------------------------

ACTIONS = frozenset(
    {
        "article_helped",
        "article_not_helped",
        "person",
        "ask_again",
        "catalogue",
        "request_item",
        "ticket_status",
        "reset_password",
    }
)


@transaction.atomic
def handle_action(
    *, actor: Actor, conversation: Conversation, action: str, payload: dict[str, Any] | None = None
) -> list[ChatMessage]:
    """Carry out a button of a bot message. Only the conversation's own requester presses them,
    and only while the virtual agent has the chat."""
    payload = payload or {}
    if action not in ACTIONS:
        raise DomainError(f"Unknown action {action!r}.")
    if actor.user is None or conversation.requester.user_id != actor.user.pk:
        raise NotFound("No such conversation, or it is not yours.")
    if conversation.status == ConversationStatus.CLOSED:
        raise DomainError("This chat has ended; open the chat again to start a new one.")
    if conversation.status != ConversationStatus.BOT:
        raise DomainError("A person has this chat now; write to them instead.")

    if action == "article_helped":
        article = _article_feedback(actor, conversation, payload.get("article"), helpful=True)
        if not conversation.interactions.filter(kind=Tier0Kind.ARTICLE, article=article).exists():
            _record(actor, conversation, Tier0Kind.ARTICLE, article=article)
        return [_say(conversation, "Great, glad that helped! Anything else?", {"actions": [ASK_AGAIN_ACTION]})]
    if action == "article_not_helped":
        _article_feedback(actor, conversation, payload.get("article"), helpful=False)
        return [
            _say(
                conversation,
                "Sorry that didn't help. You can ask in other words, or talk to a person.",
                {"actions": [PERSON_ACTION, ASK_AGAIN_ACTION]},
            )
        ]
    if action == "person":
        article_id = _int(payload["article"], "article") if payload.get("article") is not None else None
        return hand_to_person(actor=actor, conversation=conversation, article_id=article_id)
    if action == "ask_again":
        return [_say(conversation, "Sure, what else can I help with?")]
    if action == "catalogue":
        return [show_catalogue(conversation=conversation)]
    if action == "request_item":
        return request_software(actor=actor, conversation=conversation, item_id=_int(payload.get("item"), "item"))
    if action == "ticket_status":
        return ticket_status(actor=actor, conversation=conversation)
    return [offer_password_reset(conversation=conversation)]  # reset_password


# --- the password reset form (views_selfservice.py) reports back here ----------------------------


def password_changed(*, actor: Actor, conversation: Conversation) -> ChatMessage:
    """The form changed the password: say so (never the password or the code) and record it."""
    _record(actor, conversation, Tier0Kind.AUTOMATION, automation=Automation.PASSWORD_RESET)
    return _say(conversation, "Your password has been changed. Use the new one from now on.")
