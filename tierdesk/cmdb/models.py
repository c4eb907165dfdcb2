"""A light CMDB: business services and the configuration items (hosts, network devices,
applications) they run on, with "depends on" relations. Monitoring alerts map to items by
their labels; tickets name an affected service or item; major incidents group by them."""

from __future__ import annotations

from typing import Any

from django.db import models

from tierdesk.core.models import TenantModel


class ServiceQuerySet(models.QuerySet["BusinessService"]):
    def offered_to(self, organisation_id: int) -> ServiceQuerySet:
        """What the portal offers a requester of this organisation: its own services and the
        provider's shared ones (e-mail, VPN) that serve it."""
        return (
            self.filter(models.Q(organisation_id=organisation_id) | models.Q(serves__pk=organisation_id))
            .filter(is_active=True)
            .distinct()
        )

    def used_by(self, organisation_ids: Any) -> ServiceQuerySet:
        """Active services of these organisations or shared with them (callers pass what scope_for allows)."""
        ids = list(organisation_ids)
        return self.filter(models.Q(organisation_id__in=ids) | models.Q(serves__in=ids), is_active=True).distinct()


class ItemQuerySet(models.QuerySet["ConfigurationItem"]):
    def within(self, organisation_ids: Any) -> ItemQuerySet:
        """Active items of these organisations (callers pass what scope_for(actor) allows)."""
        return self.filter(organisation_id__in=list(organisation_ids), is_active=True)


class BusinessService(TenantModel):
    """Something the business uses and names ("E-mail", "EHR", "Site network: Main campus")."""

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    is_core = models.BooleanField(default=False, help_text="An outage of it is a major incident by default.")
    serves = models.ManyToManyField(
        "tenancy.Organisation",
        blank=True,
        related_name="+",
        help_text="Other client organisations that use this service (a provider's shared service).",
    )
    is_active = models.BooleanField(default=True)

    objects = ServiceQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="service_unique_name")]

    def __str__(self) -> str:
        return self.name


class ConfigurationItem(TenantModel):
    """A host, network device, application or database, owned by an organisation, at a site."""

    class Kind(models.TextChoices):
        HOST = "host", "Host"
        NETWORK_DEVICE = "network_device", "Network device"
        APPLICATION = "application", "Application"
        DATABASE = "database", "Database"
        OTHER = "other", "Other"

    name = models.CharField(max_length=200, help_text="As monitoring names it, e.g. core-sw-01.")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.HOST)
    site = models.ForeignKey("tenancy.Site", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    services = models.ManyToManyField(BusinessService, blank=True, related_name="items")
    depends_on: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="dependents"
    )
    is_core = models.BooleanField(default=False, help_text="A P1 alert on it declares a major incident.")
    labels: Any = models.JSONField(
        default=dict,
        blank=True,
        help_text='Monitoring labels that identify it, e.g. {"instance": "10.0.0.1:9100"}; its name also matches '
        "an alert's host, instance or hostname.",
    )
    is_active = models.BooleanField(default=True)

    objects = ItemQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="item_unique_name")]
        indexes = [models.Index(fields=["name"], name="item_name")]

    def __str__(self) -> str:
        return self.name
