"""Classification rules, the routing table, regulated scopes and agents' shifts. Owned by the provider."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from tierdesk.accounts.choices import TrainingRegime
from tierdesk.accounts.scope import scope_for
from tierdesk.core.actor import Actor
from tierdesk.core.models import TenantModel
from tierdesk.tickets.choices import Channel, Level, TicketType


class ClassificationRule(TenantModel):
    """If a new ticket matches every condition given, set what this rule sets.

    Rules run in order. A field set by an earlier rule is not overwritten by a later one;
    `stop` ends the evaluation after this rule.
    """

    name = models.CharField(max_length=120)
    order = models.PositiveIntegerField(default=100)
    is_active = models.BooleanField(default=True)
    # Conditions (empty = any)
    keywords = models.CharField(
        max_length=500, blank=True, help_text="Comma-separated; any of them in the title or description."
    )
    pattern = models.CharField(
        max_length=500, blank=True, help_text="A regular expression searched in the title and description."
    )
    client_organisation = models.ForeignKey(
        "tenancy.Organisation", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    site = models.ForeignKey("tenancy.Site", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    channel = models.CharField(max_length=16, choices=Channel.choices, blank=True)
    # Effects (empty = leave as it is)
    set_ticket_type = models.CharField(
        max_length=32, choices=TicketType.choices, blank=True, help_text="Only for tickets opened without a type."
    )
    set_category = models.ForeignKey(
        "tickets.Category", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    set_impact = models.CharField(max_length=8, choices=Level.choices, blank=True)
    set_urgency = models.CharField(max_length=8, choices=Level.choices, blank=True)
    set_skills = models.ManyToManyField("accounts.Skill", blank=True, related_name="+")
    stop = models.BooleanField(default=False, help_text="Evaluate no later rule after this one matched.")

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.pattern:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValidationError({"pattern": f"Not a valid regular expression: {exc}"}) from exc

    @property
    def keyword_list(self) -> list[str]:
        return [k.strip().lower() for k in self.keywords.split(",") if k.strip()]


class RoutingEntry(TenantModel):
    """Category and client organisation lead to a support group (and so a tier).

    The most specific entry wins: a named organisation over any, a deeper category over its
    parent over any. Escalation looks for the most specific entry at the target tier.
    """

    category = models.ForeignKey("tickets.Category", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    client_organisation = models.ForeignKey(
        "tenancy.Organisation", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    support_group = models.ForeignKey("accounts.SupportGroup", on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name_plural = "routing entries"
        ordering = ["support_group__tier", "id"]

    def __str__(self) -> str:
        where = " / ".join(str(x) for x in (self.client_organisation, self.category) if x) or "anything"
        return f"{where} -> {self.support_group}"


class RegulatedScope(TenantModel):
    """Tickets of this client (in these categories, or all) touch regulated systems: only agents
    with current training for the regime may take them."""

    client_organisation = models.ForeignKey("tenancy.Organisation", on_delete=models.CASCADE, related_name="+")
    regime = models.CharField(max_length=16, choices=TrainingRegime.choices)
    categories = models.ManyToManyField("tickets.Category", blank=True, related_name="+")

    def __str__(self) -> str:
        return f"{self.get_regime_display()} at {self.client_organisation}"


class AgentShift(models.Model):
    """When an agent works: a business calendar (their shift pattern, time zone and holidays)."""

    agent = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shift")
    calendar = models.ForeignKey("sla.BusinessCalendar", on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"{self.agent} works {self.calendar}"


class VendorContact(models.Model):
    """Whom to write to at a vendor (a support group marked as vendor, at Tier 3 or 4)."""

    vendor = models.ForeignKey("accounts.SupportGroup", on_delete=models.CASCADE, related_name="vendor_contacts")
    name = models.CharField(max_length=120)
    email = models.EmailField()
    is_primary = models.BooleanField(default=True)

    class Meta:
        ordering = ["-is_primary", "name"]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class VendorEscalation(TenantModel):
    """A ticket handed to a vendor: who was written to, and the vendor's own reference."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="vendor_escalations")
    vendor = models.ForeignKey("accounts.SupportGroup", on_delete=models.PROTECT, related_name="+")
    contact = models.ForeignKey(VendorContact, on_delete=models.PROTECT, related_name="+")
    vendor_reference = models.CharField(max_length=120, blank=True, help_text="The vendor's case number.")
    message = models.TextField(help_text="What was sent to the vendor.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.ticket_id} -> {self.vendor}"


class EngineeringTrackerQuerySet(models.QuerySet["EngineeringTracker"]):
    def visible_to(self, actor: Actor) -> EngineeringTrackerQuerySet:
        """The active trackers of the agent's own provider; nobody else sends to them."""
        scope = scope_for(actor)
        if not scope.is_agent_side or scope.provider_id is None:
            return self.none()
        return self.filter(organisation_id=scope.provider_id, is_active=True)


class EngineeringTracker(TenantModel):
    """Where code defects go: GitHub Issues, Jira, or any endpoint that takes a signed webhook."""

    class Kind(models.TextChoices):
        GITHUB = "github", "GitHub Issues"
        JIRA = "jira", "Jira"
        WEBHOOK = "webhook", "Generic signed webhook"

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    base_url = models.URLField(help_text="e.g. https://api.github.com, https://acme.atlassian.net, or the webhook URL.")
    project = models.CharField(max_length=200, blank=True, help_text="GitHub owner/repo, or the Jira project key.")
    username = models.CharField(max_length=200, blank=True, help_text="Jira: the account e-mail for the API token.")
    token = models.CharField(max_length=500, blank=True, help_text="API token (GitHub, Jira).")
    outbound_secret = models.CharField(max_length=200, blank=True, help_text="Generic webhook: signs what we send.")
    inbound_secret = models.CharField(max_length=200, help_text="Signs what the tracker sends back to us.")
    is_active = models.BooleanField(default=True)

    objects = EngineeringTrackerQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="tracker_unique_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class EngineeringLink(TenantModel):
    """A ticket sent to engineering: the issue opened for it, and where that issue stands."""

    class State(models.TextChoices):
        REQUESTED = "requested", "Requested (being opened)"
        OPEN = "open", "Open in the tracker"
        RESOLVED = "resolved", "Resolved by engineering"
        FAILED = "failed", "Could not be opened"

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="engineering_links")
    tracker = models.ForeignKey(EngineeringTracker, on_delete=models.PROTECT, related_name="links")
    state = models.CharField(max_length=10, choices=State.choices, default=State.REQUESTED)
    reproduction_steps = models.TextField()
    environment = models.TextField(blank=True)
    external_id = models.CharField(max_length=120, blank=True, help_text="Issue number or key, e.g. 1347 or OPS-12.")
    url = models.URLField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tracker", "external_id"], name="engineering_link_issue")]

    def __str__(self) -> str:
        return f"{self.ticket_id} -> {self.tracker} {self.external_id or '(pending)'}"
