"""The only way to load a chat that a person names."""

from __future__ import annotations

from tierdesk.core.actor import Actor
from tierdesk.core.errors import NotFound
from tierdesk.selfservice.models import Conversation


def access_conversation(actor: Actor, conversation_id: int) -> Conversation:
    """The requester's own chat, or one an agent's scope covers; else NotFound (never a hint it exists)."""
    conversation = Conversation.objects.visible_to(actor).for_detail().filter(pk=conversation_id).first()
    if conversation is None:
        raise NotFound("No such conversation, or you may not see it.")
    return conversation
