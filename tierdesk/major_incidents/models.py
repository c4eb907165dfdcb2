"""Major incidents: one incident record (a ticket) that the tickets of everyone hit by the same
outage hang under, with an owner group (the NOC for infrastructure), a communications log and a
status; and the rules that declare one by themselves."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tierdesk.core import clock
from tierdesk.core.models import TenantModel


class MajorIncidentQuerySet(models.QuerySet["MajorIncident"]):
    def open(self) -> MajorIncidentQuerySet:
        return self.exclude(status=MajorIncident.Status.RESOLVED)

    def of_provider(self, provider_id: int) -> MajorIncidentQuerySet:
        return self.filter(organisation_id=provider_id)


class MajorIncident(TenantModel):
    """Owned by the provider (`organisation`); the incident record itself is `ticket`."""

    class Status(models.TextChoices):
        INVESTIGATING = "investigating", "Investigating"
        IDENTIFIED = "identified", "Cause identified"
        MONITORING = "monitoring", "Fix applied, monitoring"
        RESOLVED = "resolved", "Resolved"

    ticket = models.OneToOneField("tickets.Ticket", on_delete=models.PROTECT, related_name="major_incident")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.INVESTIGATING)
    owner_group = models.ForeignKey("accounts.SupportGroup", on_delete=models.PROTECT, related_name="+")
    service = models.ForeignKey(
        "cmdb.BusinessService", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    item = models.ForeignKey(
        "cmdb.ConfigurationItem", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    site = models.ForeignKey("tenancy.Site", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    declared_how = models.CharField(max_length=200, help_text="By an agent, or by which rule.")
    declared_at = models.DateTimeField(default=clock.now)
    correlation_minutes = models.PositiveIntegerField(
        default=120, help_text="New tickets this long after the latest activity are considered for linking."
    )
    last_activity_at = models.DateTimeField(
        default=clock.now,
        help_text="Declared, a ticket linked or an update posted: the correlation window runs from it.",
    )
    announcements = models.ManyToManyField(
        "tenancy.Announcement", blank=True, related_name="+", help_text="The portal banners it shows now."
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    objects = MajorIncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-declared_at"]
        indexes = [models.Index(fields=["organisation", "status", "last_activity_at"], name="major_incident_open")]

    def __str__(self) -> str:
        return f"Major incident {self.ticket.number}"


class MajorIncidentLink(TenantModel):
    """A ticket consolidated under a major incident; `organisation` is the ticket's."""

    class How(models.TextChoices):
        AUTOMATIC = "automatic", "Linked automatically"
        BY_AGENT = "by_agent", "Attached by an agent"

    major_incident = models.ForeignKey(MajorIncident, on_delete=models.CASCADE, related_name="links")
    ticket = models.OneToOneField("tickets.Ticket", on_delete=models.CASCADE, related_name="major_incident_link")
    how = models.CharField(max_length=16, choices=How.choices)
    score = models.FloatField(null=True, blank=True, help_text="How strongly it matched (automatic links).")
    reason = models.CharField(max_length=300, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.ticket_id} under {self.major_incident_id}"


class MajorIncidentUpdate(TenantModel):
    """One entry of the communications log: what every affected requester was told."""

    major_incident = models.ForeignKey(MajorIncident, on_delete=models.CASCADE, related_name="updates")
    status = models.CharField(max_length=16, choices=MajorIncident.Status.choices)
    body = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    author_label = models.CharField(max_length=200)
    requesters_mailed = models.PositiveIntegerField(default=0)
    organisations_told = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Update on {self.major_incident_id} ({self.status})"


class DeclarationRule(TenantModel):
    """When the desk declares a major incident by itself. Owned by the provider."""

    class Kind(models.TextChoices):
        TICKET_BURST = "ticket_burst", "N tickets for the same service or site within M minutes"
        CRITICAL_ALERT_ON_CORE = "critical_alert_on_core", "A P1 monitoring alert on a core item or service"

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    threshold = models.PositiveIntegerField(default=10, help_text="N: tickets (burst rules).")
    window_minutes = models.PositiveIntegerField(default=15, help_text="M: minutes (burst rules).")
    owner_group = models.ForeignKey(
        "accounts.SupportGroup", on_delete=models.PROTECT, related_name="+", help_text="e.g. the NOC."
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
