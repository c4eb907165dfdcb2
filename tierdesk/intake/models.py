"""What intake remembers of the messages that reached it: for now, the tracker webhooks acted on."""

from __future__ import annotations

from django.db import models

from tierdesk.core import clock
from tierdesk.core.models import TenantModel


class WebhookDelivery(TenantModel):
    """A tracker's webhook delivery we acted on. Its id is unique per tracker, so a replay is refused.

    Written in the same transaction as the delivery's effect: two copies arriving at once cannot
    both act, since the second insert waits for the first and then fails on the constraint.
    """

    tracker = models.ForeignKey("routing.EngineeringTracker", on_delete=models.CASCADE, related_name="+")
    delivery_id = models.CharField(max_length=200, help_text="X-GitHub-Delivery, X-Atlassian-Webhook-Identifier, ...")
    event = models.CharField(max_length=80, blank=True, help_text="e.g. issues.closed, jira:issue_updated.")
    received_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["tracker", "delivery_id"], name="webhook_delivery_once")]

    def __str__(self) -> str:
        return f"{self.tracker_id}: {self.delivery_id}"
