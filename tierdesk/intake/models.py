"""What intake remembers of what reached it: tracker webhooks acted on, mailboxes and every e-mail received,
monitoring sources and their alerts."""

from __future__ import annotations

from typing import Any

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


class Mailbox(TenantModel):
    """An address the desk receives mail at, owned by the provider or by one client organisation.

    IMAP mailboxes are polled; direct ones receive from a mail server over SMTP/LMTP or through
    `tierdesk intake email`. The IMAP password is stored encrypted (core.secrets).
    """

    class Kind(models.TextChoices):
        IMAP = "imap", "IMAP (polled)"
        DIRECT = "direct", "Direct delivery (SMTP/LMTP listener or pipe)"

    class Security(models.TextChoices):
        SSL = "ssl", "SSL/TLS"
        STARTTLS = "starttls", "STARTTLS"
        NONE = "none", "None (loopback only)"

    class AfterProcessing(models.TextChoices):
        FLAG = "flag", "Mark it seen and flag it as processed"
        MOVE = "move", "Move it to the processed folder"

    class ForeignReplyPolicy(models.TextChoices):
        QUARANTINE = "quarantine", "Quarantine it for an admin"
        NEW_TICKET = "new_ticket", "Open a new ticket for the sender"
        INTERNAL_NOTE = "internal_note", "Append it as an internal note"

    name = models.CharField(max_length=120)
    address = models.EmailField(max_length=254, unique=True, help_text="The address mail is sent to.")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.DIRECT)
    default_organisation = models.ForeignKey(
        "tenancy.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Client a sender nobody knows belongs to (by address or domain). Empty: such mail is quarantined.",
    )
    foreign_reply_policy = models.CharField(
        max_length=16,
        choices=ForeignReplyPolicy.choices,
        default=ForeignReplyPolicy.QUARANTINE,
        help_text="What to do with a reply to a ticket from an address that takes no part in it (possible spoofing).",
    )
    imap_host = models.CharField(max_length=200, blank=True)
    imap_port = models.PositiveIntegerField(default=993)
    imap_security = models.CharField(max_length=8, choices=Security.choices, default=Security.SSL)
    imap_username = models.CharField(max_length=200, blank=True)
    imap_password_encrypted = models.TextField(blank=True, editable=False)
    imap_folder = models.CharField(max_length=200, default="INBOX")
    after_processing = models.CharField(max_length=8, choices=AfterProcessing.choices, default=AfterProcessing.FLAG)
    processed_folder = models.CharField(max_length=200, default="Tierdesk/Processed")
    is_active = models.BooleanField(default=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    poll_lease_until = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Held by the worker polling it now."
    )

    class Meta:
        verbose_name_plural = "mailboxes"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>"


class InboundEmailQuerySet(models.QuerySet["InboundEmail"]):
    def quarantined(self) -> InboundEmailQuerySet:
        return self.filter(outcome=InboundEmail.Outcome.QUARANTINED)


class InboundEmail(TenantModel):
    """Every message that reached a mailbox, once, with what became of it and its raw bytes.

    The row is written in the transaction that acts on the message, keyed by its Message-ID (or the
    hash of its bytes when it has none), unique per provider: a message fetched or delivered twice
    finds its row and changes nothing.
    """

    class Outcome(models.TextChoices):
        TICKET_OPENED = "ticket_opened", "Opened a ticket"
        APPENDED = "appended", "Added to a ticket"
        QUARANTINED = "quarantined", "Quarantined"
        IGNORED = "ignored", "Ignored"

    class Source(models.TextChoices):
        IMAP = "imap", "IMAP"
        SMTP = "smtp", "SMTP"
        LMTP = "lmtp", "LMTP"
        PIPE = "pipe", "Pipe"

    provider = models.ForeignKey("tenancy.Organisation", on_delete=models.PROTECT, related_name="+")
    mailbox = models.ForeignKey(Mailbox, on_delete=models.PROTECT, related_name="messages")
    source = models.CharField(max_length=8, choices=Source.choices)
    dedup_key = models.CharField(max_length=300, help_text="Message-ID, or sha256: of the bytes when it has none.")
    message_id = models.CharField(max_length=300, blank=True)
    sha256 = models.CharField(max_length=64)
    from_address = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=250, blank=True)
    received_at = models.DateTimeField(default=clock.now)
    size = models.PositiveIntegerField()
    raw = models.BinaryField(help_text="The message as it arrived, byte for byte.")
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    reason = models.TextField(blank=True, help_text="Why it was quarantined or ignored, or how it was threaded.")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    replays = models.PositiveSmallIntegerField(default=0)

    objects = InboundEmailQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["provider", "dedup_key"], name="inbound_email_once")]
        indexes = [
            models.Index(fields=["provider", "message_id"], name="inbound_email_message_id"),
            models.Index(fields=["organisation", "outcome", "-received_at"], name="inbound_email_outcome"),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()}: {self.subject or self.dedup_key}"


# --- monitoring alerts ------------------------------------------------------------------------


class AlertSource(TenantModel):
    """A monitoring system that opens, updates and resolves incidents by webhook.

    Its organisation is the client (or provider) whose systems it watches: incidents open for
    its requester, usually the "Monitoring: <name>" requester made with it. It proves each
    delivery with a bearer token (only the SHA-256 is kept, the token is shown once) or with an
    HMAC signature over timestamp and body (the secret kept encrypted, since checking needs it).
    """

    class Kind(models.TextChoices):
        ALERTMANAGER = "alertmanager", "Prometheus Alertmanager (webhook v4)"
        GRAFANA = "grafana", "Grafana alerting (webhook contact point)"
        ZABBIX = "zabbix", "Zabbix (webhook media type, docs/integrations/zabbix.md)"
        PAGERDUTY = "pagerduty", "PagerDuty Events API v2"
        GENERIC = "generic", "Any JSON webhook, mapped with JMESPath"

    class ResolveMode(models.TextChoices):
        RESOLVE = "resolve", "Resolve the incident"
        RECOVERED = "recovered_awaiting_confirmation", "Mark it recovered, awaiting an agent's confirmation"

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    requester = models.ForeignKey(
        "accounts.Requester",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Incidents open in this requester's name (made as 'Monitoring: <name>' when left empty).",
    )
    token_hash = models.CharField(max_length=64, blank=True, editable=False, help_text="SHA-256 of the token.")
    token_prefix = models.CharField(max_length=12, blank=True, editable=False, help_text="To recognise the token.")
    signing_secret_encrypted = models.TextField(blank=True, editable=False)
    mapping: Any = models.JSONField(
        default=dict,
        blank=True,
        help_text="For the generic kind: JMESPath expressions for alerts, fingerprint, status, severity, summary, "
        "description, labels, host, service (see intake/alerts/formats.py).",
    )
    severity_map: Any = models.JSONField(
        default=dict,
        blank=True,
        help_text='Severity name to [impact, urgency], e.g. {"critical": ["high", "high"]}; adds to the defaults.',
    )
    resolve_mode = models.CharField(max_length=40, choices=ResolveMode.choices, default=ResolveMode.RESOLVE)
    flap_window_minutes = models.PositiveIntegerField(
        default=30, help_text="Firing again this soon after a recovery counts as a flap."
    )
    flap_threshold = models.PositiveSmallIntegerField(
        default=3, help_text="After this many flaps the incident's status stops following the alert until it is stable."
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="alert_source_unique_name")]

    def __str__(self) -> str:
        return self.name


class AlertDelivery(TenantModel):
    """A signed delivery's id, kept so that a replay of it is refused (the token scheme has none)."""

    source = models.ForeignKey(AlertSource, on_delete=models.CASCADE, related_name="+")
    delivery_id = models.CharField(max_length=200, help_text="X-Tierdesk-Delivery.")
    received_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name_plural = "alert deliveries"
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["source", "delivery_id"], name="alert_delivery_once")]

    def __str__(self) -> str:
        return f"{self.source_id}: {self.delivery_id}"


class Alert(TenantModel):
    """One alert of a source, by fingerprint, and the incident it maps to.

    The row is the lock every delivery of that fingerprint takes, so concurrent senders update
    one incident: repeats count, a recovery resolves, a flap reopens, a storm opens nothing new.
    """

    class Status(models.TextChoices):
        FIRING = "firing", "Firing"
        RESOLVED = "resolved", "Resolved"

    source = models.ForeignKey(AlertSource, on_delete=models.CASCADE, related_name="alerts")
    fingerprint = models.CharField(max_length=200)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.FIRING)
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    severity = models.CharField(max_length=40, blank=True)
    summary = models.CharField(max_length=250, blank=True)
    labels: Any = models.JSONField(default=dict, blank=True)
    count = models.PositiveIntegerField(default=0, help_text="Firing deliveries since its incident opened.")
    first_seen_at = models.DateTimeField(default=clock.now)
    last_seen_at = models.DateTimeField(default=clock.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    last_flip_at = models.DateTimeField(null=True, blank=True, help_text="When its status last changed.")
    flap_count = models.PositiveIntegerField(default=0)
    is_flapping = models.BooleanField(
        default=False, help_text="Flapping: the incident's status is left alone until the alert is stable."
    )
    last_payload: Any = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-last_seen_at"]
        constraints = [models.UniqueConstraint(fields=["source", "fingerprint"], name="alert_once_per_fingerprint")]
        indexes = [
            models.Index(fields=["organisation", "status", "-last_seen_at"], name="alert_org_status"),
            models.Index(fields=["source", "is_flapping"], name="alert_source_flapping"),
        ]

    def __str__(self) -> str:
        return f"{self.summary or self.fingerprint} ({self.status})"
