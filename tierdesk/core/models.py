"""Abstract bases shared by the domain apps. No concrete models live here."""

from __future__ import annotations

from django.db import models

from tierdesk.core import clock


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(default=clock.now, editable=False, db_index=False)
    updated_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        abstract = True


class TenantModel(TimestampedModel):
    """A row owned by one organisation. The organisation is never null (structural tenancy)."""

    organisation = models.ForeignKey("tenancy.Organisation", on_delete=models.PROTECT, related_name="+")

    class Meta:
        abstract = True
