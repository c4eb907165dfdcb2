"""Notifications to agents inside the desk (the console's bell), and the outbox of what goes out."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from tierdesk.core.models import TenantModel


class NotificationQuerySet(models.QuerySet["Notification"]):
    def for_recipient(self, user: Any) -> NotificationQuerySet:
        return self.filter(recipient=user).select_related("ticket")

    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)


class OutboxQuerySet(models.QuerySet["OutboxMessage"]):
    def due(self, at: Any) -> OutboxQuerySet:
        return self.filter(state="pending", next_attempt_at__lte=at)


class Notification(TenantModel):
    """One message to one person. `key` makes delivering the same cause twice a no-op."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    key = models.CharField(max_length=80, help_text="What caused it, e.g. sla_event:42.")
    subject = models.CharField(max_length=250)
    body = models.TextField(blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["recipient", "key"], name="notification_once")]
        indexes = [models.Index(fields=["recipient", "read_at", "-created_at"], name="notification_inbox")]

    def __str__(self) -> str:
        return f"{self.subject} -> {self.recipient_id}"


class OutboxMessage(TenantModel):
    """Something to send out (an e-mail, an HTTP call), kept until it was delivered.

    Written in the transaction of the change that caused it, delivered after commit by a
    worker that retries with backoff, so nothing is lost when the other side is down.
    `key` makes queueing the same cause twice a no-op.
    """

    class Kind(models.TextChoices):
        EMAIL = "email", "E-mail"
        HTTP = "http", "HTTP request"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Gave up"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    key = models.CharField(max_length=120, unique=True)
    purpose = models.CharField(max_length=40, help_text="What it is for, e.g. vendor_escalation, engineering_issue.")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # E-mail
    from_address = models.CharField(max_length=250, blank=True)
    to_addresses = models.TextField(blank=True, help_text="One address per line.")
    cc_addresses = models.TextField(blank=True, help_text="One address per line.")
    subject = models.CharField(max_length=250, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True, help_text="The HTML alternative, when there is one.")
    message_id = models.CharField(max_length=250, blank=True)
    in_reply_to = models.CharField(max_length=250, blank=True)
    references = models.TextField(blank=True, help_text="Message-IDs of the thread, space separated.")
    # HTTP
    method = models.CharField(max_length=8, blank=True)
    url = models.URLField(max_length=500, blank=True)
    headers: Any = models.JSONField(default=dict, blank=True)
    body = models.TextField(blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)

    objects = OutboxQuerySet.as_manager()

    class Meta:
        ordering = ["next_attempt_at"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="outbox_due"),
            # Threading: a reply's In-Reply-To / References are looked up here.
            models.Index(fields=["message_id"], name="outbox_message_id"),
            # The acknowledgement rate limit counts the last hour's acknowledgements.
            models.Index(fields=["purpose", "created_at"], name="outbox_purpose_created"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.purpose} ({self.state})"


class EmailTemplate(TenantModel):
    """An admin's wording of one kind of mail to requesters, per provider; the built-in text applies
    where there is none. Django template syntax; the HTML part is auto-escaped."""

    class Kind(models.TextChoices):
        ACKNOWLEDGEMENT = "acknowledgement", "Acknowledgement of a new ticket"
        AGENT_REPLY = "agent_reply", "An agent's public reply"
        STATUS_CHANGED = "status_changed", "Status change"
        RESOLVED = "resolved", "Resolution, with the satisfaction link"
        MAJOR_INCIDENT_UPDATE = "major_incident_update", "Update on a major incident the ticket is part of"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    subject = models.CharField(max_length=250)
    body_text = models.TextField()
    body_html = models.TextField(blank=True, help_text="Leave empty to send the text part alone.")
    is_active = models.BooleanField(default=True, help_text="Untick to send no mail of this kind at all.")

    class Meta:
        ordering = ["organisation", "kind"]
        constraints = [models.UniqueConstraint(fields=["organisation", "kind"], name="email_template_unique")]

    def __str__(self) -> str:
        return self.get_kind_display()


class BouncingAddress(TenantModel):
    """An address whose mail bounced: flagged so the desk stops writing to it until an admin clears it.
    Owned by the provider, whose mail it was."""

    email = models.EmailField(max_length=254)
    reason = models.TextField(blank=True, help_text="The delivery report's status and diagnostic.")
    bounces = models.PositiveIntegerField(default=1)
    last_bounced_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True, help_text="Set when an admin lets mail go to it again.")

    class Meta:
        verbose_name_plural = "bouncing addresses"
        ordering = ["-last_bounced_at"]
        constraints = [models.UniqueConstraint(fields=["organisation", "email"], name="bouncing_address_unique")]

    def __str__(self) -> str:
        return self.email
