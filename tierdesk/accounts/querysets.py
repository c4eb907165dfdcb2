"""Scoped reads of people and groups."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

from tierdesk.accounts.scope import scope_for
from tierdesk.core.actor import Actor

if TYPE_CHECKING:
    from tierdesk.accounts.models import Requester, SupportGroup  # noqa: F401


class RequesterQuerySet(models.QuerySet["Requester"]):
    def visible_to(self, actor: Actor) -> RequesterQuerySet:
        scope = scope_for(actor)
        q = models.Q(organisation_id__in=scope.organisation_ids)
        if scope.requester_id is not None:
            q |= models.Q(pk=scope.requester_id)
        return self.filter(q)


class SupportGroupQuerySet(models.QuerySet["SupportGroup"]):
    def visible_to(self, actor: Actor) -> SupportGroupQuerySet:
        scope = scope_for(actor)
        if not scope.is_agent_side:
            return self.none()
        return self.filter(organisation_id=scope.provider_id or 0)
