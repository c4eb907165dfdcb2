"""Reads of tickets, named for what they are for. Scope always comes first."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django.db import models

from tierdesk.accounts.scope import scope_for
from tierdesk.core.actor import Actor

if TYPE_CHECKING:
    from tierdesk.tickets.models import Ticket, TimelineEntry  # noqa: F401


TICKET_NUMBER = re.compile(r"[A-Za-z]{3}[0-9]{7}")


class TicketQuerySet(models.QuerySet["Ticket"]):
    def visible_to(self, actor: Actor) -> TicketQuerySet:
        scope = scope_for(actor)
        q = models.Q(organisation_id__in_scope=scope.organisation_ids)
        if scope.requester_id is not None:
            q |= models.Q(requester_id=scope.requester_id)
        return self.filter(q)

    def open(self) -> TicketQuerySet:
        from tierdesk.tickets.workflow import OPEN

        return self.filter(status__in=OPEN)

    def for_list(self) -> TicketQuerySet:
        """What a list row shows: one query, no N+1."""
        return self.select_related("organisation", "requester", "assignee", "support_group", "category")

    def for_detail(self) -> TicketQuerySet:
        return self.select_related(
            "organisation", "requester", "requester__site", "site", "assignee", "support_group", "category", "parent"
        )

    def search(self, text: str) -> TicketQuerySet:
        text = text.strip()
        if not text:
            return self
        if TICKET_NUMBER.fullmatch(text):
            # A ticket number is looked up by its unique index, not by scanning every text.
            return self.filter(number=text.upper())
        return self.filter(
            models.Q(title__icontains=text)
            | models.Q(description__icontains=text)
            | models.Q(requester__name__icontains=text)
            | models.Q(requester__email__icontains=text)
        )


class TimelineQuerySet(models.QuerySet["TimelineEntry"]):
    def visible_to(self, actor: Actor) -> TimelineQuerySet:
        """Requesters see public entries only; internal notes never reach them."""
        if scope_for(actor).is_agent_side:
            return self
        return self.filter(is_public=True)
