"""Abstract bases shared by the domain apps. No concrete models live here."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models

from tierdesk.core import clock
from tierdesk.core.errors import DomainError


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(default=clock.now, editable=False, db_index=False)
    updated_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        abstract = True


class TenantQuerySet(models.QuerySet[Any]):
    def within(self, organisation_ids: Iterable[int]) -> TenantQuerySet:
        """Rows of these organisations only: callers pass what scope_for(actor) allows."""
        return self.filter(organisation_id__in=list(organisation_ids))


class TenantModel(TimestampedModel):
    """A row owned by one organisation. The organisation is never null (structural tenancy)."""

    organisation = models.ForeignKey("tenancy.Organisation", on_delete=models.PROTECT, related_name="+")

    class Meta:
        abstract = True


def check_lengths(instance: models.Model) -> None:
    """Refuse text longer than its column, as a clear DomainError rather than a database error
    (PostgreSQL refuses it; SQLite would silently store it)."""
    for field in instance._meta.concrete_fields:
        limit = getattr(field, "max_length", None)
        value = getattr(instance, field.attname, None)
        if limit and isinstance(value, str) and len(value) > limit:
            raise DomainError(f"{field.verbose_name.capitalize()} may be at most {limit} characters.")
