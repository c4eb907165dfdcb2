"""Tier 0 self-service: portal chat conversations (virtual agent, then a person), the software
catalogue and its approvals, and the record of every Tier 0 contact and how it ended."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tierdesk.core import clock
from tierdesk.core.models import TenantModel
from tierdesk.selfservice.choices import ApprovalStatus, Author, ConversationStatus, Tier0Kind, Tier0Outcome
from tierdesk.selfservice.querysets import ChatMessageQuerySet, ConversationQuerySet


class Conversation(TenantModel):
    """One chat from the portal. The organisation is the requester's; the ticket exists once a
    person is asked for (its channel is chat and the whole transcript lands on its timeline)."""

    requester = models.ForeignKey("accounts.Requester", on_delete=models.PROTECT, related_name="conversations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="conversations"
    )
    status = models.CharField(max_length=16, choices=ConversationStatus.choices, default=ConversationStatus.BOT)
    session_key = models.CharField(max_length=64, blank=True)
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="conversations"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="chats_taken"
    )
    queued_at = models.DateTimeField(null=True, blank=True)
    taken_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    last_message_at = models.DateTimeField(default=clock.now)

    objects = ConversationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "status", "queued_at"], name="conversation_org_queue"),
            models.Index(fields=["requester", "status"], name="conversation_requester"),
        ]

    def __str__(self) -> str:
        return f"Chat {self.pk} ({self.get_status_display()})"


class ChatMessage(models.Model):
    """One line of a chat. Ids increase, so a stream resumes from the last id it delivered.
    Secrets (codes, passwords) never become messages: those go through forms."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    author = models.CharField(max_length=16, choices=Author.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    body = models.TextField()
    # Structured extras the widget renders: suggested articles, buttons, catalogue items.
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    timeline_entry = models.ForeignKey(
        "tickets.TimelineEntry", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ChatMessageQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["conversation", "id"], name="chatmessage_conversation")]

    def __str__(self) -> str:
        return f"{self.get_author_display()}: {self.body[:40]}"


class CatalogItem(TenantModel):
    """Software a requester may ask for. Owned by the provider; offered to all its clients or to
    the listed ones. An item that needs approval waits for a member of the approver group."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    keywords = models.CharField(max_length=250, blank=True, help_text="Other words people use for it.")
    offered_to = models.ManyToManyField("tenancy.Organisation", related_name="+", blank=True)
    requires_approval = models.BooleanField(default=False)
    approver_group = models.ForeignKey(
        "accounts.SupportGroup", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    fulfilment_group = models.ForeignKey(
        "accounts.SupportGroup", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    category = models.ForeignKey("tickets.Category", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="catalogitem_unique_name")]

    def __str__(self) -> str:
        return self.name


class ServiceRequestApproval(TenantModel):
    """The approval a catalogue request waits for. The organisation is the ticket's."""

    ticket = models.OneToOneField("tickets.Ticket", on_delete=models.CASCADE, related_name="approval")
    item = models.ForeignKey(CatalogItem, on_delete=models.PROTECT, related_name="approvals")
    approver_group = models.ForeignKey(
        "accounts.SupportGroup", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organisation", "status"], name="approval_org_status")]

    def __str__(self) -> str:
        return f"Approval of {self.item} ({self.get_status_display()})"


class Tier0Interaction(TenantModel):
    """One Tier 0 contact and how it ended: resolved by self-service (which article or
    automation), handed to a person, or abandoned. The organisation is the requester's."""

    requester = models.ForeignKey(
        "accounts.Requester", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    conversation = models.ForeignKey(
        Conversation, on_delete=models.SET_NULL, null=True, blank=True, related_name="interactions"
    )
    kind = models.CharField(max_length=16, choices=Tier0Kind.choices)
    outcome = models.CharField(max_length=20, choices=Tier0Outcome.choices)
    article = models.ForeignKey("knowledge.Article", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    automation = models.CharField(max_length=32, blank=True)
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organisation", "created_at"], name="tier0_org_created")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.get_outcome_display()}"
