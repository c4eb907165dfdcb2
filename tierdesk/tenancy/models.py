"""Organisations: the provider (an MSP or in-house IT) and the clients it serves."""

from __future__ import annotations

from django.db import models

from tierdesk.core.models import TenantModel, TenantQuerySet, TimestampedModel
from tierdesk.tenancy.choices import OrganisationKind
from tierdesk.tenancy.querysets import OrganisationQuerySet


class Organisation(TimestampedModel):
    """Every organisation points at its provider; the provider points at itself.

    That makes `provider_id` the root of tenancy for every row: a second MSP on the same
    installation shares nothing with the first.
    """

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=16, choices=OrganisationKind.choices, default=OrganisationKind.CLIENT)
    provider = models.ForeignKey("self", on_delete=models.PROTECT, related_name="clients", null=True, blank=True)
    email_domain = models.CharField(max_length=200, blank=True)
    support_email = models.EmailField(
        blank=True,
        help_text="The desk's address for this organisation: its mail is sent from here and replies come back here "
        "(a client without one uses its provider's).",
    )
    timezone = models.CharField(max_length=64, default="UTC")
    has_regulated_systems = models.BooleanField(
        default=False, help_text="Holds regulated data (e.g. HIPAA clinical systems)."
    )
    is_active = models.BooleanField(default=True)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind=OrganisationKind.PROVIDER) | models.Q(provider__isnull=False),
                name="client_has_provider",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_provider(self) -> bool:
        return self.kind == OrganisationKind.PROVIDER

    @property
    def root_provider_id(self) -> int:
        return self.provider_id or self.pk


class Site(TenantModel):
    name = models.CharField(max_length=200)
    address = models.TextField(blank=True)
    timezone = models.CharField(max_length=64, default="UTC")

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="site_unique_name")]

    def __str__(self) -> str:
        return self.name


class Department(TenantModel):
    name = models.CharField(max_length=200)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="department_unique_name")]

    def __str__(self) -> str:
        return self.name


class Announcement(TenantModel):
    """A banner shown to an organisation's requesters in the portal (e.g. a major incident)."""

    class Severity(models.TextChoices):
        INFO = "info", "Information"
        WARNING = "warning", "Warning"
        OUTAGE = "outage", "Outage"

    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.INFO)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["organisation", "starts_at"], name="announcement_org_start")]

    def __str__(self) -> str:
        return self.title
