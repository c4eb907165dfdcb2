"""Append-only, hash-chained records: the audit trail and the access log.

Rows hold plain ids and labels rather than foreign keys: an audit row must outlive the
object it describes, and a cascade must never be able to delete history.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC
from typing import Any

from django.db import models

from tierdesk.core import clock

GENESIS_HASH = "0" * 64


class ChainHead(models.Model):
    """The last link of each chain; its row lock serialises appends."""

    name = models.CharField(primary_key=True, max_length=32)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"{self.name} #{self.seq}"


class ChainedRecord(models.Model):
    chain_name: str = ""
    hashed_fields: tuple[str, ...] = ()

    seq = models.PositiveBigIntegerField(unique=True, editable=False)
    at = models.DateTimeField(default=clock.now, editable=False)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise RuntimeError(f"{type(self).__name__} rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"{type(self).__name__} rows are append-only")

    def compute_hash(self) -> str:
        payload: dict[str, Any] = {
            "seq": self.seq,
            "at": self.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "prev_hash": self.prev_hash,
        }
        for name in self.hashed_fields:
            payload[name] = getattr(self, name)
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class AuditEvent(ChainedRecord):
    chain_name = "audit"
    hashed_fields = (
        "actor_id",
        "actor_label",
        "organisation_id",
        "action",
        "object_type",
        "object_id",
        "before",
        "after",
        "ip",
        "via",
    )

    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=254)
    organisation_id = models.BigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip = models.CharField(max_length=45, null=True, blank=True)
    via = models.CharField(max_length=16)

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["organisation_id", "at"], name="audit_org_at"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"


class TicketAccess(ChainedRecord):
    """One row per view of a ticket by a person (HIPAA/SOC 2 access logging)."""

    chain_name = "access"
    hashed_fields = ("user_id", "user_label", "organisation_id", "ticket_id", "ticket_number", "ip", "via")

    user_id = models.BigIntegerField()
    user_label = models.CharField(max_length=254)
    organisation_id = models.BigIntegerField()
    ticket_id = models.BigIntegerField()
    ticket_number = models.CharField(max_length=16)
    ip = models.CharField(max_length=45, null=True, blank=True)
    via = models.CharField(max_length=16)

    class Meta:
        ordering = ["seq"]
        verbose_name_plural = "ticket accesses"
        indexes = [
            models.Index(fields=["organisation_id", "at"], name="access_org_at"),
            models.Index(fields=["ticket_id", "at"], name="access_ticket_at"),
            models.Index(fields=["user_id", "at"], name="access_user_at"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.user_label} viewed {self.ticket_number}"
