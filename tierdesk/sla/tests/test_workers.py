"""The production path: the sweep's alarm travels through Redis to a Celery worker.

Runs in the PostgreSQL suite, where .ci/postgres-suite sets REDIS_URL when Redis answers.
"""

from __future__ import annotations

import time as wall
from datetime import timedelta

import pytest
from django.conf import settings

from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.notifications.models import Notification
from tierdesk.sla import services as sla
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World


@pytest.mark.django_db(transaction=True)
def test_a_breach_reaches_the_supervisor_through_redis_and_a_worker(world: World) -> None:
    if not settings.REDIS_URL:
        pytest.skip("Redis skipped: REDIS_URL is unset (.ci/postgres-suite sets it when Redis answers)")
    from celery.contrib.testing.worker import start_worker

    from tierdesk.config.celery import app

    system = Actor.system()
    calendar = sla.create_calendar(actor=system, provider=world.provider, name="24x7", timezone="UTC", always_open=True)
    policy = sla.create_policy(
        actor=system, provider=world.provider, name="Fast", calendar=calendar, targets=[("first_response", None, 5, [])]
    )
    sla.add_action(actor=system, target=policy.targets.get(), trigger="breach", action="notify_supervisor")
    with clock.frozen(clock.now() - timedelta(hours=1)):
        ticket = open_ticket(world.requester, title="Nobody answered")
    sla.recompute_clocks(ticket.pk)

    with start_worker(app, perform_ping_check=False, shutdown_timeout=20):
        assert sla.sweep().breaches == 1  # commits, then queues the notification task on Redis
        deadline = wall.monotonic() + 20
        while not Notification.objects.filter(recipient=world.supervisor).exists():
            assert wall.monotonic() < deadline, "the worker did not deliver the notification within 20 s"
            wall.sleep(0.2)
    assert Notification.objects.get(recipient=world.supervisor).ticket_id == ticket.pk
