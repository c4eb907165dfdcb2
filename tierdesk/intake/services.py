"""Intake's writers. For now: a tracker's webhook that resolves an engineering issue."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.intake import webhooks
from tierdesk.intake.models import WebhookDelivery
from tierdesk.routing import services as routing
from tierdesk.routing.models import EngineeringLink, EngineeringTracker

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookOutcome:
    status: int  # the HTTP status to answer: 200 acted, 202 well signed but nothing to do, 4xx refused
    detail: str


def _refused(actor: Actor, tracker_id: int, status: int, reason: str) -> WebhookOutcome:
    logger.warning("engineering webhook for tracker %s from %s refused (%s): %s", tracker_id, actor.ip, status, reason)
    return WebhookOutcome(status, reason)


def receive_engineering_webhook(
    *, actor: Actor, tracker_id: int, headers: Mapping[str, str], body: bytes
) -> WebhookOutcome:
    """Verify a tracker's delivery and, when it resolves an issue we opened, bring the ticket back.

    The delivery id is stored in the same transaction as the effect, so a replayed delivery,
    even one racing the original, is refused with 409 and acts once.
    """
    tracker = EngineeringTracker.objects.filter(pk=tracker_id, is_active=True).first()
    if tracker is None:
        return _refused(actor, tracker_id, 404, "no such tracker")
    try:
        event = webhooks.read(tracker, headers, body, now=clock.now().timestamp())
    except webhooks.Refused as refusal:
        return _refused(actor, tracker_id, refusal.status, refusal.reason)
    if event.ignored:
        logger.info("engineering webhook %s for tracker %s ignored: %s", event.delivery_id, tracker_id, event.ignored)
        return WebhookOutcome(202, f"Nothing to do: {event.ignored}.")
    link = (
        EngineeringLink.objects.filter(tracker=tracker, external_id=event.issue)
        .exclude(state=EngineeringLink.State.FAILED)
        .select_related("ticket")
        .order_by("-created_at")
        .first()
    )
    if link is None:
        reason = f"no ticket is linked to issue {event.issue}"
        logger.info("engineering webhook %s for tracker %s ignored: %s", event.delivery_id, tracker_id, reason)
        return WebhookOutcome(202, f"Nothing to do: {reason}.")
    with transaction.atomic():
        try:
            with transaction.atomic():  # a savepoint: the refused insert leaves the outer transaction usable
                WebhookDelivery.objects.create(
                    organisation_id=tracker.organisation_id,
                    tracker=tracker,
                    delivery_id=event.delivery_id,
                    event=event.name[:80],
                )
        except IntegrityError:
            return _refused(actor, tracker_id, 409, f"delivery {event.delivery_id} was already received")
        routing.engineering_resolved(actor=actor, link=link, resolution=event.resolution)
    return WebhookOutcome(200, f"{link.ticket.number} is back with Tier 1 to confirm with the requester.")
