"""Addresses whose mail bounces: flagged by intake when a delivery report names them, skipped by
everything that sends mail until an admin clears them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import F

from tierdesk.audit.services import record_event
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.notifications.models import BouncingAddress

# Never written to, whatever a template or a header says: a mailer daemon answers nothing.
DAEMON_LOCAL_PARTS = frozenset({"mailer-daemon", "mailer_daemon", "mailerdaemon", "postmaster-daemon"})


def is_daemon(address: str) -> bool:
    local = address.rpartition("@")[0] if "@" in address else address
    return local.strip().lower() in DAEMON_LOCAL_PARTS


def bouncing(provider_id: int, addresses: Iterable[str]) -> set[str]:
    """Which of these addresses (lower-cased) are flagged and not cleared, for this provider."""
    wanted = {address.strip().lower() for address in addresses if address.strip()}
    if not wanted:
        return set()
    return set(
        BouncingAddress.objects.filter(
            organisation_id=provider_id, email__in=wanted, cleared_at__isnull=True
        ).values_list("email", flat=True)
    )


@transaction.atomic
def flag_bouncing(*, provider_id: int, email: str, reason: str, at: datetime | None = None) -> BouncingAddress:
    """Flag an address (again): counted, the latest reason kept, a cleared flag raised anew."""
    at = at or clock.now()
    email = email.strip().lower()
    row, made = BouncingAddress.objects.select_for_update().get_or_create(
        organisation_id=provider_id,
        email=email,
        defaults={"reason": reason[:2000], "last_bounced_at": at},
    )
    if not made:
        BouncingAddress.objects.filter(pk=row.pk).update(
            bounces=F("bounces") + 1, reason=reason[:2000], last_bounced_at=at, cleared_at=None
        )
        row.refresh_from_db()
    return row


@transaction.atomic
def clear_bouncing(*, actor: Actor, ids: Iterable[int]) -> int:
    """An admin lets mail go to these addresses again (the mailbox was fixed)."""
    rows = list(BouncingAddress.objects.select_for_update().filter(pk__in=list(ids), cleared_at__isnull=True))
    now = clock.now()
    for row in rows:
        BouncingAddress.objects.filter(pk=row.pk).update(cleared_at=now)
        record_event(
            actor=actor,
            action="email.bounce_cleared",
            obj=row,
            organisation_id=row.organisation_id,
            before={"email": row.email},
            after={"cleared_at": now.isoformat()},
        )
    return len(rows)
