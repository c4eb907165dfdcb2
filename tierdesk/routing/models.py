"""Classification rules, the routing table, regulated scopes and agents' shifts. Owned by the provider."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from tierdesk.accounts.choices import TrainingRegime
from tierdesk.core.models import TenantModel
from tierdesk.tickets.choices import Channel, Level


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
