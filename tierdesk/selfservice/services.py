"""The only writers of portal chats: start, post, hand off to a person, take, close; and the
record of every Tier 0 contact.

Each writer locks the conversation row first, so one conversation's messages commit in the
order of their ids (a stream that resumes "after id n" can never skip a message that commits
late) and only one agent can take a waiting chat. Once a chat has a ticket every line is
written onto the ticket's timeline as it is posted (requester and agent lines as public
replies on the chat channel, the virtual agent's as replies by "Virtual agent", system lines
as public events), so the ticket holds the transcript even if nobody opens the chat again.
Streams are woken after commit through `layer`.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import transaction

from tierdesk.accounts.models import Requester, SupportGroup, User
from tierdesk.accounts.scope import scope_for
from tierdesk.audit.services import record_event
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError, NotFound, PermissionDenied
from tierdesk.core.unset import UNSET
from tierdesk.selfservice import layer
from tierdesk.selfservice.choices import Author, ConversationStatus, Tier0Kind, Tier0Outcome
from tierdesk.selfservice.models import ChatMessage, Conversation, Tier0Interaction
from tierdesk.selfservice.querysets import chat_organisations
from tierdesk.tenancy.models import Organisation
from tierdesk.tickets import services as tickets
from tierdesk.tickets import workflow as ticket_workflow
from tierdesk.tickets.choices import Channel
from tierdesk.tickets.models import Ticket, TimelineEntry

logger = logging.getLogger(__name__)

MAX_BODY = 4000
TITLE_LENGTH = 120
# A chat left with the virtual agent this long is over; opening the widget starts afresh.
STALE_AFTER = timedelta(hours=12)
# A person types a few lines a minute; a script pasting hundreds would flood the agent and the
# ticket's timeline. Lines beyond this many in the last minute are refused, not stored.
LINES_PER_MINUTE = 20


class ChatFlooded(DomainError):
    status_code = 429
    title = "Too many chat lines"


# Who writes the virtual agent's and the chat's own lines on the ticket's timeline.
VIRTUAL_AGENT = Actor(user=None, via="chat", name="Virtual agent")
CHAT = Actor(user=None, via="chat", name="Chat")

REQUESTER, AGENT, SYSTEM = "requester", "agent", "system"


# --- helpers ----------------------------------------------------------------------------------


def _lock(conversation: Conversation) -> Conversation:
    """Re-read the conversation under a row lock (no joins: PostgreSQL refuses FOR UPDATE on outer joins)."""
    locked = Conversation.objects.select_for_update().filter(pk=conversation.pk).first()
    if locked is None:
        raise NotFound("No such conversation, or you may not see it.")
    return locked


def _sync(target: Conversation, source: Conversation) -> Conversation:
    """Bring the caller's instance up to date, so it does not act on a stale status."""
    if target is source:
        return target
    for name in ("status", "ticket_id", "agent_id", "queued_at", "taken_at", "closed_at", "last_message_at"):
        setattr(target, name, getattr(source, name))  # a changed id also drops a stale cached object
    for name in ("ticket", "agent"):
        field: Any = Conversation._meta.get_field(name)
        if field.is_cached(source):
            field.set_cached_value(target, field.get_cached_value(source))
    return target


def _role(actor: Actor, conversation: Conversation) -> str:
    """Who the actor is in this chat: its requester, an agent who may see it, or the system."""
    if actor.user is None:
        return SYSTEM
    scope = scope_for(actor)
    if scope.requester_id is not None and scope.requester_id == conversation.requester_id:
        return REQUESTER
    if scope.is_agent_side and conversation.organisation_id in scope.organisation_ids:
        return AGENT
    raise NotFound("No such conversation, or you may not see it.")


def _first_name(user: User | None, fallback: str) -> str:
    name = (user.full_name if user is not None else "") or fallback
    return name.split()[0] if name.split() else fallback


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise DomainError("A chat message needs some text.")
    if len(body) > MAX_BODY:
        raise DomainError(f"A chat message may be at most {MAX_BODY} characters; this one has {len(body)}.")
    return body


def _requester_actor(conversation: Conversation, actor: Actor) -> Actor:
    """The requester as the author of their lines on the ticket, whoever triggers the write."""
    if actor.user is not None and actor.user.pk == conversation.requester.user_id:
        return actor
    if conversation.requester.user is not None:
        return Actor(user=conversation.requester.user, ip=actor.ip, via="chat")
    return Actor(user=None, via="chat", name=conversation.requester.name)


def _transcript_body(message: ChatMessage) -> str:
    """A bot line as the ticket keeps it: the suggested articles become links."""
    articles = message.data.get("articles") if isinstance(message.data, dict) else None
    if not articles:
        return message.body
    links = [f"- [{a.get('title', 'Article')}]({a.get('url', '')})" for a in articles if isinstance(a, dict)]
    return message.body + "\n\n" + "\n".join(links)


def _to_timeline(conversation: Conversation, message: ChatMessage, actor: Actor) -> TimelineEntry | None:
    """Write one chat line onto the conversation's ticket (which the caller checked exists)."""
    ticket = Ticket.objects.filter(pk=conversation.ticket_id or 0).first()
    if ticket is None or ticket.status in ticket_workflow.TERMINAL:
        return None  # closed tickets take no more replies; the line stays in the chat
    # The mark tells notifications not to mail the line: the requester read it live.
    data: dict[str, Any] = {"chat": {"conversation": conversation.pk, "message": message.pk}}
    if message.author == Author.REQUESTER:
        entry = tickets.reply(
            actor=_requester_actor(conversation, actor),
            ticket=ticket,
            body=message.body,
            channel=Channel.CHAT,
            data=data,
        )
    elif message.author == Author.AGENT:
        author = actor if actor.user is not None and actor.user.pk == message.user_id else Actor(user=message.user)
        entry = tickets.reply(actor=author, ticket=ticket, body=message.body, channel=Channel.CHAT, data=data)
    elif message.author == Author.BOT:
        entry = tickets.reply(
            actor=VIRTUAL_AGENT, ticket=ticket, body=_transcript_body(message), channel=Channel.CHAT, data=data
        )
    else:
        event = str(message.data.get("event") or "chat_notice") if isinstance(message.data, dict) else "chat_notice"
        # A line by a person reads as their event ("Alex Agent joined the chat"); the chat's own as its text.
        by_actor = bool(message.data.get("by_actor"))
        reason = str(message.data.get("reason", "")) if by_actor else message.body
        if reason:
            data["reason"] = reason
        entry = tickets.record_system_event(
            actor=actor if by_actor else CHAT, ticket=ticket, event=event, data=data, is_public=True
        )
    message.timeline_entry = entry
    message.save(update_fields=["timeline_entry"])
    return entry


def _add(
    conversation: Conversation,
    author: str,
    body: str,
    *,
    actor: Actor,
    user: User | None = None,
    data: dict[str, Any] | None = None,
) -> ChatMessage:
    """Store one line of a conversation the caller has locked; on its ticket too if it has one."""
    now = clock.now()
    message = ChatMessage.objects.create(
        conversation=conversation, author=author, user=user, body=body, data=data or {}, created_at=now
    )
    Conversation.objects.filter(pk=conversation.pk).update(last_message_at=now, updated_at=now)
    conversation.last_message_at = now
    if conversation.ticket_id is not None:
        _to_timeline(conversation, message, actor)
    layer.publish_on_commit(conversation.pk, message.pk)
    return message


def _audit(actor: Actor, action: str, conversation: Conversation, after: dict[str, Any] | None = None) -> None:
    record_event(
        actor=actor, action=action, obj=conversation, organisation_id=conversation.organisation_id, after=after
    )


def _set(conversation: Conversation, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(conversation, name, value)
    conversation.updated_at = clock.now()
    conversation.save(update_fields=[*fields, "updated_at"])


# --- conversations ----------------------------------------------------------------------------


def start_conversation(*, actor: Actor, requester: Requester, session_key: str = "") -> Conversation:
    """The requester's open chat, or a new one greeted by the virtual agent."""
    with transaction.atomic():
        conversation, created = _start(actor, requester, session_key)
        if created:
            from tierdesk.selfservice import virtual_agent

            virtual_agent.greet(conversation=conversation)
    return conversation


def _start(actor: Actor, requester: Requester, session_key: str) -> tuple[Conversation, bool]:
    if actor.user is not None and scope_for(actor).requester_id != requester.pk:
        raise NotFound("No such requester, or you may not chat in their name.")
    # One requester, one open chat: two tabs opening the widget at once must not make two.
    requester = Requester.objects.select_for_update().filter(pk=requester.pk).first() or requester
    if not requester.is_active:
        raise DomainError(f"Requester {requester} is deactivated.")
    existing = (
        Conversation.objects.select_for_update().for_requester(requester).open().order_by("-created_at", "-id").first()
    )
    if existing is not None:
        stale = existing.status == ConversationStatus.BOT and existing.last_message_at < clock.now() - STALE_AFTER
        if not stale:
            return existing, False
        _add(existing, Author.SYSTEM, "This chat ended after a quiet spell.", actor=CHAT)
        _record_abandoned(CHAT, existing)
        _set(existing, status=ConversationStatus.CLOSED, closed_at=clock.now())
    conversation = Conversation.objects.create(
        organisation_id=requester.organisation_id,
        requester=requester,
        user=requester.user,
        status=ConversationStatus.BOT,
        session_key=session_key[:64],
    )
    _audit(actor, "chat.started", conversation, {"requester_id": requester.pk})
    return conversation, True


def post_message(*, actor: Actor, conversation: Conversation, body: str) -> ChatMessage:
    """A line by the requester, or by the agent who took the chat. While the virtual agent has
    the chat it answers the requester's line (after the line itself is stored)."""
    message, ask_bot = _post(actor, conversation, body)
    if ask_bot:
        _ask_virtual_agent(actor, conversation, message)
    return message


@transaction.atomic
def _post(actor: Actor, conversation: Conversation, body: str) -> tuple[ChatMessage, bool]:
    body = _clean_body(body)
    locked = _lock(conversation)
    role = _role(actor, locked)
    if locked.status == ConversationStatus.CLOSED:
        raise DomainError("This chat has ended; open the chat again to start a new one.")
    if role == AGENT:
        if locked.status != ConversationStatus.LIVE or locked.agent_id != actor.user_id:
            raise PermissionDenied("Only the agent who took this chat may write in it; take it from the queue first.")
        author = Author.AGENT
    elif role == REQUESTER:
        author = Author.REQUESTER
    else:
        raise PermissionDenied("Only the requester and the agent write chat lines; the virtual agent has its own.")
    recent = locked.messages.filter(author=author, created_at__gte=clock.now() - timedelta(minutes=1)).count()
    if recent >= LINES_PER_MINUTE:
        raise ChatFlooded(f"That is more than {LINES_PER_MINUTE} lines in a minute; wait a moment, then go on.")
    message = _add(locked, author, body, actor=actor, user=actor.user)
    if locked.ticket_id is None:  # on a ticket the reply's own audit event covers it
        _audit(actor, "chat.posted", locked, {"message_id": message.pk, "length": len(body)})
    _sync(conversation, locked)
    return message, role == REQUESTER and locked.status == ConversationStatus.BOT


def _ask_virtual_agent(actor: Actor, conversation: Conversation, message: ChatMessage) -> None:
    from tierdesk.selfservice import virtual_agent

    try:
        with transaction.atomic():  # a savepoint: a failed answer leaves the requester's line standing
            virtual_agent.respond(actor=actor, conversation=conversation, message=message)
    except DomainError as exc:
        add_bot_message(conversation=conversation, body=f"Sorry, I could not do that: {exc.detail}")
    except Exception:
        logger.exception("virtual agent failed on conversation %s", conversation.pk)
        add_bot_message(
            conversation=conversation,
            body="Sorry, something went wrong on my side. You can ask again, or ask for a person.",
            data={"actions": [{"label": "Talk to a person", "action": "person", "payload": {}}]},
        )


@transaction.atomic
def add_bot_message(*, conversation: Conversation, body: str, data: dict[str, Any] | None = None) -> ChatMessage:
    """A line of the virtual agent; `data` carries what the widget renders (articles, buttons, a form)."""
    body = _clean_body(body)
    if data is not None and not isinstance(data, dict):
        raise DomainError("A bot message's data must be a mapping.")
    locked = _lock(conversation)
    message = _add(locked, Author.BOT, body, actor=VIRTUAL_AGENT, data=data)
    _sync(conversation, locked)
    return message


@transaction.atomic
def add_system_message(
    *, conversation: Conversation, body: str, actor: Actor | None = None, event: str = "chat_notice"
) -> ChatMessage:
    """A line of the chat itself ("Alex joined the chat"). On the ticket it is a public event
    named `event`, by `actor` when given (else by "Chat")."""
    body = _clean_body(body)
    locked = _lock(conversation)
    message = _add(
        locked,
        Author.SYSTEM,
        body,
        actor=actor or CHAT,
        user=actor.user if actor is not None else None,
        data={"event": event, "by_actor": actor is not None},
    )
    _sync(conversation, locked)
    return message


@transaction.atomic
def hand_off(*, actor: Actor, conversation: Conversation, reason: str = "") -> Ticket:
    """Talk to a person: open a chat ticket carrying the transcript so far and queue the chat
    for Tier 1. Asking twice gives the same ticket."""
    locked = _lock(conversation)
    role = _role(actor, locked)
    if role == AGENT:
        raise PermissionDenied("Only the requester asks for a person.")
    if locked.ticket_id is not None:
        _sync(conversation, locked)
        return Ticket.objects.get(pk=locked.ticket_id)
    if locked.status == ConversationStatus.CLOSED:
        raise DomainError("This chat has ended; open the chat again to start a new one.")
    reason = reason.strip()[:500]
    requester_actor = _requester_actor(locked, actor)
    first_line = (
        ChatMessage.objects.filter(conversation=locked, author=Author.REQUESTER)
        .order_by("id")
        .values_list("body", flat=True)
        .first()
    )
    title = " ".join((first_line or "").split())
    if len(title) > TITLE_LENGTH:
        title = title[: TITLE_LENGTH - 1].rstrip() + "…"
    description = "Opened from a portal chat: the requester asked for a person."
    if reason:
        description += f"\n\nReason: {reason}"
    ticket = tickets.open_ticket(
        actor=requester_actor,
        requester=locked.requester,
        title=title or f"Chat with {locked.requester.name}",
        description=description,
        channel=Channel.CHAT,
        data={"conversation": locked.pk},
    )
    _set(locked, ticket=ticket, status=ConversationStatus.WAITING, queued_at=clock.now())
    for message in ChatMessage.objects.transcript(locked.pk).filter(timeline_entry__isnull=True):
        _to_timeline(locked, message, requester_actor)
    name = _first_name(locked.requester.user, locked.requester.name or "The requester")
    _add(
        locked,
        Author.SYSTEM,
        f"{name} asked for a person" + (f": {reason}" if reason else "."),
        actor=requester_actor,
        user=requester_actor.user,
        data={"event": "asked_for_a_person", "by_actor": True, "reason": reason},
    )
    record_tier0(
        actor=actor,
        organisation=locked.organisation,
        kind=Tier0Kind.HANDOFF,
        outcome=Tier0Outcome.HANDED_TO_PERSON,
        conversation=locked,
        ticket=ticket,
        requester=locked.requester,
    )
    _audit(actor, "chat.handed_off", locked, {"ticket": ticket.number, "reason": reason})
    _sync(conversation, locked)
    return ticket


def _group_for(agent: User, ticket: Ticket) -> SupportGroup | None:
    """The agent's group to hold a chat ticket: the ticket's own if the agent is in it, else the
    agent's lowest-tier active group serving the organisation; None keeps the ticket's group."""
    groups = SupportGroup.objects.filter(is_active=True, memberships__agent=agent)
    if ticket.support_group_id is not None and groups.filter(pk=ticket.support_group_id).exists():
        return None
    provider_id = ticket.organisation.provider_id or ticket.organisation_id
    groups = groups.filter(organisation_id=provider_id)
    if ticket.organisation_id != provider_id:
        groups = groups.filter(serves=ticket.organisation_id)
    return groups.order_by("tier", "name").first()


@transaction.atomic
def take_conversation(*, actor: Actor, conversation: Conversation) -> Conversation:
    """An agent takes a waiting chat: exactly one wins (the row lock, then a conditional update
    that also holds on SQLite); the ticket is assigned to them."""
    if actor.user is None or not scope_for(actor).is_agent_side:
        raise PermissionDenied("Only agents take chats.")
    locked = _lock(conversation)
    if locked.organisation_id not in chat_organisations(actor):
        raise NotFound("No such chat in your queue.")
    if locked.status == ConversationStatus.LIVE:
        taker = User.objects.filter(pk=locked.agent_id or 0).first()
        raise DomainError(f"This chat was already taken by {taker or 'another agent'}.")
    if locked.status != ConversationStatus.WAITING:
        raise DomainError("This chat is not waiting for a person (it has ended or is still with the virtual agent).")
    now = clock.now()
    won = Conversation.objects.filter(pk=locked.pk, status=ConversationStatus.WAITING).update(
        status=ConversationStatus.LIVE, agent=actor.user, taken_at=now, updated_at=now
    )
    if won != 1:
        raise DomainError("This chat was already taken by another agent.")
    locked.status, locked.agent, locked.taken_at = ConversationStatus.LIVE, actor.user, now
    ticket = Ticket.objects.select_related("organisation", "support_group").get(pk=locked.ticket_id or 0)
    if ticket.assignee_id != actor.user_id:
        group = _group_for(actor.user, ticket)
        tickets.assign(actor=actor, ticket=ticket, assignee=actor.user, support_group=group or UNSET)
    _add(
        locked,
        Author.SYSTEM,
        f"{_first_name(actor.user, actor.user.email)} joined the chat.",
        actor=actor,
        user=actor.user,
        data={"event": "joined_the_chat", "by_actor": True},
    )
    _audit(actor, "chat.taken", locked, {"agent_id": actor.user_id, "ticket": ticket.number})
    return _sync(conversation, locked)


@transaction.atomic
def close_conversation(*, actor: Actor, conversation: Conversation) -> Conversation:
    """The requester leaves or an agent ends the chat. Closing a closed chat changes nothing."""
    locked = _lock(conversation)
    role = _role(actor, locked)
    if locked.status == ConversationStatus.CLOSED:
        return _sync(conversation, locked)
    if role == AGENT and locked.status == ConversationStatus.LIVE and locked.agent_id != actor.user_id:
        raise PermissionDenied("Only the agent in this chat may end it.")
    if role == REQUESTER:
        name = _first_name(actor.user, locked.requester.name)
        line, event = f"{name} left the chat.", "left_the_chat"
    elif role == AGENT:
        line, event = f"{_first_name(actor.user, 'The agent')} ended the chat.", "ended_the_chat"
    else:
        line, event = "The chat was closed.", "chat_closed"
    _add(
        locked,
        Author.SYSTEM,
        line,
        actor=actor,
        user=actor.user,
        data={"event": event, "by_actor": role != SYSTEM},
    )
    if locked.status == ConversationStatus.BOT:
        _record_abandoned(actor, locked)
    _set(locked, status=ConversationStatus.CLOSED, closed_at=clock.now())
    _audit(actor, "chat.closed", locked, {"by": role})
    return _sync(conversation, locked)


# --- Tier 0 -----------------------------------------------------------------------------------


def _record_abandoned(actor: Actor, conversation: Conversation) -> None:
    """A chat that ends with the virtual agent, after the requester asked something, and with
    nothing resolved or handed on, is a Tier 0 contact that failed: count it as abandoned."""
    asked = conversation.messages.filter(author=Author.REQUESTER).exists()
    if asked and not conversation.interactions.exists():
        record_tier0(
            actor=actor,
            organisation=conversation.organisation,
            kind=Tier0Kind.CHAT,
            outcome=Tier0Outcome.ABANDONED,
            conversation=conversation,
            requester=conversation.requester,
        )


@transaction.atomic
def record_tier0(
    *,
    actor: Actor,
    organisation: Organisation,
    kind: str,
    outcome: str,
    article: Any = None,
    automation: str = "",
    conversation: Conversation | None = None,
    ticket: Ticket | None = None,
    requester: Requester | None = None,
) -> Tier0Interaction:
    """One Tier 0 contact and how it ended (resolved by an article or automation, or handed to a person)."""
    if kind not in Tier0Kind.values:
        raise DomainError(f"Unknown Tier 0 kind {kind!r}.")
    if outcome not in Tier0Outcome.values:
        raise DomainError(f"Unknown Tier 0 outcome {outcome!r}.")
    for related, what in ((conversation, "conversation"), (ticket, "ticket"), (requester, "requester")):
        if related is not None and related.organisation_id != organisation.pk:
            raise DomainError(f"The {what} belongs to another organisation.")
    interaction = Tier0Interaction.objects.create(
        organisation=organisation,
        requester=requester,
        conversation=conversation,
        kind=kind,
        outcome=outcome,
        article=article,
        automation=automation[:32],
        ticket=ticket,
    )
    record_event(
        actor=actor,
        action="tier0.recorded",
        obj=interaction,
        organisation_id=organisation.pk,
        after={"kind": kind, "outcome": outcome, "article_id": getattr(article, "pk", None), "automation": automation},
    )
    return interaction
