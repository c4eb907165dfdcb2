"""Notifications to agents inside the desk (the console's bell). E-mail delivery joins them later."""

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
