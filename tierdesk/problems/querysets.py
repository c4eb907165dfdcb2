"""Reads of problems and known errors, named for what they are for. Scope always comes first.

Both belong to the provider: every agent of the provider sees them, nobody else does
(requesters meet a known error only once it is published to the knowledge base).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

from tierdesk.accounts.scope import scope_for
from tierdesk.core.actor import Actor

if TYPE_CHECKING:
    from tierdesk.problems.models import KnownError, Problem  # noqa: F401


def _provider_of(actor: Actor) -> int | None:
    scope = scope_for(actor)
    return scope.provider_id if scope.is_agent_side else None


class ProblemQuerySet(models.QuerySet["Problem"]):
    def visible_to(self, actor: Actor) -> ProblemQuerySet:
        provider_id = _provider_of(actor)
        return self.none() if provider_id is None else self.filter(organisation_id=provider_id)

    def open(self) -> ProblemQuerySet:
        from tierdesk.problems.workflow import OPEN

        return self.filter(status__in=OPEN)

    def for_list(self) -> ProblemQuerySet:
        """What a list row shows, in one query."""
        return self.select_related("owner_group").annotate(
            incident_count=models.Count("incident_links", distinct=True),
            known_error_count=models.Count("known_errors", distinct=True),
        )

    def for_detail(self) -> ProblemQuerySet:
        return self.select_related("owner_group", "major_incident_ticket")

    def linked_to(self, ticket_id: int) -> ProblemQuerySet:
        return self.filter(incident_links__ticket_id=ticket_id)


class KnownErrorQuerySet(models.QuerySet["KnownError"]):
    def visible_to(self, actor: Actor) -> KnownErrorQuerySet:
        provider_id = _provider_of(actor)
        return self.none() if provider_id is None else self.filter(organisation_id=provider_id)

    def active(self) -> KnownErrorQuerySet:
        return self.filter(is_active=True)

    def applied_on(self, ticket_id: int) -> KnownErrorQuerySet:
        return self.filter(applications__ticket_id=ticket_id)

    def of_provider(self, provider_id: int) -> KnownErrorQuerySet:
        return self.filter(organisation_id=provider_id)

    def for_matching(self, provider_id: int) -> KnownErrorQuerySet:
        """The provider's active known errors with just what the matcher and the ticket page need."""
        return (
            self.of_provider(provider_id)
            .active()
            .select_related("problem")
            .only("id", "title", "symptoms", "fix_status", "updated_at", "problem__number", "problem__title")
        )
