"""Tickets and what hangs off them: timeline, field history, attachments, categories."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from tierdesk.core import clock
from tierdesk.core.models import TenantModel, TimestampedModel
from tierdesk.tickets.choices import (
    Channel,
    Level,
    Priority,
    ResolutionCode,
    TicketStatus,
    TicketType,
    TimelineKind,
)
from tierdesk.tickets.querysets import TicketQuerySet, TimelineQuerySet


class CategoryQuerySet(models.QuerySet["Category"]):
    def active(self) -> CategoryQuerySet:
        return self.filter(is_active=True)

    def areas(self) -> CategoryQuerySet:
        """The top level of the tree, as the portal offers it first."""
        return self.active().filter(parent__isnull=True).order_by("name")

    def within_area(self, area_id: int) -> CategoryQuerySet:
        return self.active().filter(parent_id=area_id).order_by("name")


class Category(TimestampedModel):
    """A node of the category tree. Shared configuration of the installation."""

    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")
    name = models.CharField(max_length=120)
    path = models.CharField(max_length=400, editable=False, help_text="Full name, e.g. 'Hardware / Laptop'.")
    is_active = models.BooleanField(default=True)

    objects = CategoryQuerySet.as_manager()

    class Meta:
        ordering = ["path"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="category_unique_name"),
            models.UniqueConstraint(
                fields=["name"], condition=models.Q(parent__isnull=True), name="category_unique_root"
            ),
        ]

    def __str__(self) -> str:
        return self.path or self.name


class PriorityRule(models.Model):
    """One cell of the ITIL impact x urgency matrix; editable by admins."""

    impact = models.CharField(max_length=8, choices=Level.choices)
    urgency = models.CharField(max_length=8, choices=Level.choices)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices)

    class Meta:
        ordering = ["impact", "urgency"]
        constraints = [models.UniqueConstraint(fields=["impact", "urgency"], name="priority_rule_unique")]

    def __str__(self) -> str:
        return f"impact {self.impact} x urgency {self.urgency} = P{self.priority}"


class TicketNumberSequence(models.Model):
    """Counter per ticket type, locked while a number is taken, so numbers never collide."""

    ticket_type = models.CharField(max_length=32, choices=TicketType.choices, primary_key=True)
    last_value = models.PositiveBigIntegerField(default=1000)

    def __str__(self) -> str:
        return f"{self.ticket_type}: {self.last_value}"


class Ticket(TenantModel):
    number = models.CharField(max_length=16, unique=True, editable=False)
    ticket_type = models.CharField(max_length=32, choices=TicketType.choices, default=TicketType.INCIDENT)
    title = models.CharField(max_length=250)
    description = models.TextField(blank=True)
    requester = models.ForeignKey("accounts.Requester", on_delete=models.PROTECT, related_name="tickets")
    site = models.ForeignKey("tenancy.Site", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    affected_service = models.ForeignKey(
        "cmdb.BusinessService", on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets"
    )
    affected_item = models.ForeignKey(
        "cmdb.ConfigurationItem", on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets"
    )
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.PORTAL)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    impact = models.CharField(max_length=8, choices=Level.choices, default=Level.MEDIUM)
    urgency = models.CharField(max_length=8, choices=Level.choices, default=Level.MEDIUM)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.P3)
    status = models.CharField(max_length=24, choices=TicketStatus.choices, default=TicketStatus.NEW)
    tier = models.PositiveSmallIntegerField(default=1)
    support_group = models.ForeignKey(
        "accounts.SupportGroup", on_delete=models.PROTECT, null=True, blank=True, related_name="tickets"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="assigned_tickets"
    )
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_duplicates",
        help_text="The ticket this duplicate was merged into.",
    )
    version = models.PositiveIntegerField(default=1, help_text="Optimistic concurrency: bumped on every change.")
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    resolution_code = models.CharField(max_length=32, choices=ResolutionCode.choices, blank=True)
    resolution_notes = models.TextField(blank=True)
    reopen_count = models.PositiveSmallIntegerField(default=0)
    resolved_on_first_contact = models.BooleanField(
        default=False, help_text="Resolved during the contact that opened it (e.g. on the call)."
    )
    required_skills = models.ManyToManyField(
        "accounts.Skill", blank=True, related_name="+", help_text="What the agent must know (set by classification)."
    )
    watchers: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="TicketWatcher", related_name="watched_tickets"
    )

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "status", "priority"], name="ticket_org_status"),
            models.Index(fields=["organisation", "-created_at"], name="ticket_org_created"),
            models.Index(fields=["-created_at", "-id"], name="ticket_created"),
            models.Index(fields=["support_group", "status"], name="ticket_group_status"),
            models.Index(fields=["assignee", "status"], name="ticket_assignee_status"),
            models.Index(fields=["requester", "-created_at"], name="ticket_requester"),
            models.Index(fields=["updated_at"], name="ticket_updated"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(tier__gte=1, tier__lte=4), name="ticket_tier_1_to_4"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class TimelineEntry(TenantModel):
    """A public reply, an internal note, or a system event on a ticket."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=8, choices=TimelineKind.choices)
    is_public = models.BooleanField(default=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    author_label = models.CharField(max_length=200)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.PORTAL)
    body = models.TextField(blank=True)
    event = models.CharField(max_length=40, blank=True, help_text="What happened, for system events.")
    data = models.JSONField(default=dict, blank=True)

    objects = TimelineQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "timeline entries"
        indexes = [models.Index(fields=["ticket", "created_at"], name="timeline_ticket")]

    def __str__(self) -> str:
        return f"{self.kind} on ticket {self.ticket_id}"


class FieldChange(TenantModel):
    """Field history: every change of a ticket field, with who, when, old and new."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="field_changes")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=200)
    field = models.CharField(max_length=40)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="fieldchange_ticket")]

    def __str__(self) -> str:
        return f"{self.field}: {self.old_value!r} -> {self.new_value!r}"


def attachment_path(instance: Attachment, filename: str) -> str:
    # The stored name is the content hash: never the user's file name, which may be hostile.
    at = clock.now()
    return f"attachments/{at:%Y/%m}/{instance.sha256[:2]}/{instance.sha256}"


class Attachment(TenantModel):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    timeline_entry = models.ForeignKey(
        TimelineEntry, on_delete=models.SET_NULL, null=True, blank=True, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path, max_length=300)
    filename = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=120, help_text="Sniffed from the content, not the client's claim.")
    is_public = models.BooleanField(default=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="attachment_ticket")]

    def __str__(self) -> str:
        return self.filename


class TicketWatcher(models.Model):
    """An agent who follows a ticket without owning it."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="watcher_links")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ticket", "user"], name="watcher_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} watches {self.ticket_id}"


class SatisfactionRating(TenantModel):
    """The requester's rating of a resolution, 1 to 5, for satisfaction reports."""

    ticket = models.OneToOneField(Ticket, on_delete=models.CASCADE, related_name="satisfaction")
    requester = models.ForeignKey("accounts.Requester", on_delete=models.PROTECT, related_name="+")
    score = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["organisation", "created_at"], name="rating_org_created")]
        constraints = [models.CheckConstraint(condition=models.Q(score__gte=1, score__lte=5), name="rating_1_to_5")]

    def __str__(self) -> str:
        return f"{self.score}/5 for ticket {self.ticket_id}"


class SavedView(models.Model):
    """A personal console view: a name and the FilterSet query it stands for."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=1000, help_text="The list's query string, e.g. status=new&priority=1.")
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="saved_view_unique_name")]

    def __str__(self) -> str:
        return self.name


class TicketParticipant(TenantModel):
    """Someone besides the requester who takes part by e-mail (copied on the first mail, or added by an
    agent). Participants receive the ticket's public mail in Cc, and their replies thread onto it."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="participants")
    email = models.EmailField(max_length=254)
    name = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["ticket", "email"], name="participant_unique")]

    def __str__(self) -> str:
        return f"{self.email} on ticket {self.ticket_id}"
