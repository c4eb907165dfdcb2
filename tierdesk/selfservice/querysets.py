"""Reads of chats, named for what they are for. Scope always comes first.

Who sees a conversation:
- the requester it belongs to (a manager sees only their own chats: a chat is personal);
- agents, supervisors and admins whose scope covers its organisation (the people who may
  read the ticket it becomes).
Who sees the chat queue and may take a chat (`chat_organisations`): agents of an active
Tier 1 group serving the organisation, and supervisors and admins for their whole provider.
Tier 1 takes first contact; a Tier 2 agent reads the transcript on the ticket, not the queue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

from tierdesk.accounts.choices import Tier
from tierdesk.accounts.scope import scope_for
from tierdesk.core.actor import Actor
from tierdesk.selfservice.choices import ConversationStatus

if TYPE_CHECKING:
    from tierdesk.accounts.models import Requester
    from tierdesk.selfservice.models import ChatMessage, Conversation  # noqa: F401

OPEN_STATUSES = (ConversationStatus.BOT, ConversationStatus.WAITING, ConversationStatus.LIVE)


def chat_organisations(actor: Actor) -> frozenset[int]:
    """Organisations whose waiting chats this person sees in the queue and may take."""
    from tierdesk.accounts.models import SupportGroup

    scope = scope_for(actor)
    if not scope.is_agent_side or actor.user is None or scope.provider_id is None:
        return frozenset()
    if scope.sees_whole_provider:
        return scope.organisation_ids
    groups = SupportGroup.objects.filter(
        organisation_id=scope.provider_id, is_active=True, tier=Tier.TIER_1, memberships__agent=actor.user
    )
    served = set(groups.values_list("serves", flat=True))
    if not served:  # no Tier 1 group (a group serving nobody still yields one None row)
        return frozenset()
    # A Tier 1 agent also answers the provider's own people, as they see the provider's tickets.
    return frozenset({scope.provider_id, *(pk for pk in served if pk is not None)}) & scope.organisation_ids


class ConversationQuerySet(models.QuerySet["Conversation"]):
    def visible_to(self, actor: Actor) -> ConversationQuerySet:
        scope = scope_for(actor)
        if scope.is_agent_side:
            return self.filter(organisation_id__in=scope.organisation_ids)
        if scope.requester_id is not None:
            return self.filter(organisation_id__in=scope.member_organisation_ids, requester_id=scope.requester_id)
        return self.none()

    def for_requester(self, requester: Requester) -> ConversationQuerySet:
        return self.filter(organisation_id=requester.organisation_id, requester=requester)

    def of_ticket(self, ticket_id: int) -> ConversationQuerySet:
        """The chat a ticket came from (the console's ticket page links to it)."""
        return self.filter(ticket_id=ticket_id).order_by("-id")

    def open(self) -> ConversationQuerySet:
        return self.filter(status__in=OPEN_STATUSES)

    def waiting_for(self, actor: Actor) -> ConversationQuerySet:
        """The console's chat queue: waiting chats the agent may take, longest waiting first."""
        return (
            self.filter(organisation_id__in=chat_organisations(actor), status=ConversationStatus.WAITING)
            .select_related("requester", "organisation", "ticket")
            .order_by("queued_at", "id")
        )

    def live_with(self, actor: Actor) -> ConversationQuerySet:
        """The chats this agent is in right now."""
        if actor.user is None:
            return self.none()
        return (
            self.visible_to(actor)
            .filter(status=ConversationStatus.LIVE, agent=actor.user)
            .select_related("requester", "organisation", "ticket")
            .order_by("taken_at", "id")
        )

    def status_of(self, conversation_id: int) -> str | None:
        """The status alone, read fresh (the event stream asks after every batch)."""
        return self.filter(pk=conversation_id).values_list("status", flat=True).first()

    def for_detail(self) -> ConversationQuerySet:
        return self.select_related("requester", "organisation", "ticket", "agent", "user")


class ChatMessageQuerySet(models.QuerySet["ChatMessage"]):
    def after(self, conversation_id: int, last_id: int) -> ChatMessageQuerySet:
        """What a stream has not delivered yet, oldest first."""
        return self.filter(conversation_id=conversation_id, id__gt=last_id).select_related("user").order_by("id")

    def newest_id(self, conversation_id: int) -> int:
        newest = self.filter(conversation_id=conversation_id).order_by("-id").values_list("id", flat=True).first()
        return int(newest or 0)

    def transcript(self, conversation_id: int) -> ChatMessageQuerySet:
        return self.filter(conversation_id=conversation_id).select_related("user").order_by("id")
