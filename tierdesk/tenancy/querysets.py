from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from tierdesk.tenancy.models import Organisation  # noqa: F401


class OrganisationQuerySet(models.QuerySet["Organisation"]):
    def within(self, organisation_ids: Iterable[int]) -> OrganisationQuerySet:
        return self.filter(pk__in=list(organisation_ids))

    def of_provider(self, provider_id: int) -> OrganisationQuerySet:
        return self.filter(models.Q(pk=provider_id) | models.Q(provider_id=provider_id))
