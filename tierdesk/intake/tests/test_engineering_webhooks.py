"""Trackers' webhooks coming back: signed, fresh and once, or refused with the reason.

The issue is opened over real HTTP against the fake trackers first (tierdesk/testing/
fake_trackers.py), so the link carries the number or key the tracker gave it; the webhooks
are signed the way each tracker documents.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from tierdesk.core.actor import Actor
from tierdesk.intake.models import WebhookDelivery
from tierdesk.notifications import outbox
from tierdesk.routing import services as routing
from tierdesk.routing.models import EngineeringLink, EngineeringTracker
from tierdesk.testing import fake_trackers as fake
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World
from tierdesk.tickets import services as tickets
from tierdesk.tickets.models import Ticket

SYSTEM = Actor.system()
SECRET = "inbound-secret-from-the-tracker"
Sign = Callable[..., tuple[bytes, dict[str, str]]]


@pytest.fixture
def trackers() -> Iterator[fake.FakeTrackers]:
    server = fake.FakeTrackers().start()
    yield server
    server.stop()


def tracker_of(world: World, server: fake.FakeTrackers, kind: str) -> EngineeringTracker:
    tracker: EngineeringTracker = fake.make_tracker(world.provider, server, kind, inbound_secret=SECRET)
    return tracker


def sent_to_engineering(world: World, server: fake.FakeTrackers, kind: str) -> EngineeringLink:
    """A Tier 2 ticket sent to engineering, the issue opened in the fake tracker."""
    tier2 = tickets.assign(
        actor=SYSTEM,
        ticket=open_ticket(world.requester, title="Desk app crashes when printing"),
        assignee=None,
        support_group=_tier2_group(world),
    )
    link = routing.send_to_engineering(
        actor=Actor(user=world.agent),
        ticket=tier2,
        tracker=tracker_of(world, server, kind),
        reproduction_steps="Open a chart, click Print: E500.",
    )
    outbox.deliver_due()  # in a test whose transaction never commits, nothing delivered it after commit
    link.refresh_from_db()
    assert link.state == "open" and link.external_id
    return link


def _tier2_group(world: World) -> Any:
    from tierdesk.accounts import services as accounts

    return accounts.create_support_group(
        actor=SYSTEM, provider=world.provider, name="Applications", tier=2, serves=[world.client]
    )


def resolving(kind: str, link: EngineeringLink, secret: str = SECRET, **kwargs: Any) -> tuple[bytes, dict[str, str]]:
    if kind == "github":
        return fake.github_closed(secret, int(link.external_id), **kwargs)
    if kind == "jira":
        return fake.jira_resolved(secret, link.external_id, **kwargs)
    return fake.generic_resolved(secret, link.external_id, **kwargs)


def post(client: Client, tracker_id: int, body: bytes, headers: dict[str, str]) -> Any:
    url = reverse("intake:engineering-webhook", args=[tracker_id])
    return client.post(url, data=body, content_type="application/json", headers=headers)


KINDS = ["github", "jira", "webhook"]


# --- closing the loop ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_a_signed_resolution_brings_the_ticket_back_to_tier1(
    world: World, trackers: fake.FakeTrackers, client: Client, kind: str
) -> None:
    link = sent_to_engineering(world, trackers, kind)
    ticket = Ticket.objects.get(pk=link.ticket_id)
    assert (ticket.status, ticket.tier) == ("pending_engineering", 2)

    response = post(client, link.tracker_id, *resolving(kind, link))
    assert response.status_code == 200, response.content
    assert ticket.number in response.json()["detail"]

    ticket.refresh_from_db()
    link.refresh_from_db()
    assert link.state == "resolved"
    assert (ticket.status, ticket.tier, ticket.support_group_id) == ("in_progress", 1, world.group.pk)
    note = ticket.timeline.filter(kind="note").latest("created_at")
    key = f"#{link.external_id}" if kind == "github" else link.external_id
    assert note.body.startswith(f"Engineering resolved {key}: ")
    assert note.body.endswith("; confirm with the requester") and not note.is_public
    resolved = ticket.timeline.get(event="engineering_resolved")
    assert resolved.author_label == "webhook" and resolved.data["group"] == world.group.name
    assert WebhookDelivery.objects.filter(tracker_id=link.tracker_id).count() == 1


# --- refused ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_a_bad_signature_is_refused_and_logged(
    world: World, trackers: fake.FakeTrackers, client: Client, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    link = sent_to_engineering(world, trackers, kind)
    body, headers = resolving(kind, link, secret="not-the-secret")
    with caplog.at_level(logging.WARNING, logger="tierdesk.intake.services"):
        response = post(client, link.tracker_id, body, headers)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json" and "bad signature" in response.json()["detail"]
    assert "refused (401): bad signature" in caplog.text

    body, headers = resolving(kind, link)
    tampered = body.replace(b'"', b" ", 1) if kind != "jira" else body.replace(b"Fixed", b"Fixes")
    assert post(client, link.tracker_id, tampered, headers).status_code == 401
    link.refresh_from_db()
    assert link.state == "open" and not WebhookDelivery.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "header"),
    [
        ("github", "X-Hub-Signature-256"),
        ("jira", "X-Hub-Signature"),
        ("webhook", "X-Tierdesk-Signature"),
        ("webhook", "X-Tierdesk-Timestamp"),
    ],
)
def test_a_missing_signature_is_refused(
    world: World, trackers: fake.FakeTrackers, client: Client, kind: str, header: str
) -> None:
    link = sent_to_engineering(world, trackers, kind)
    body, headers = resolving(kind, link)
    del headers[header]
    response = post(client, link.tracker_id, body, headers)
    assert response.status_code == 401 and header in response.json()["detail"]
    link.refresh_from_db()
    assert link.state == "open"


@pytest.mark.django_db
@pytest.mark.parametrize("kind", KINDS)
def test_a_replayed_delivery_is_refused(world: World, trackers: fake.FakeTrackers, client: Client, kind: str) -> None:
    link = sent_to_engineering(world, trackers, kind)
    body, headers = resolving(kind, link, delivery="delivery-1")
    assert post(client, link.tracker_id, body, headers).status_code == 200
    response = post(client, link.tracker_id, body, headers)
    assert response.status_code == 409 and "already received" in response.json()["detail"]
    assert Ticket.objects.get(pk=link.ticket_id).timeline.filter(event="engineering_resolved").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("offset", [-6 * 60, 6 * 60])
def test_a_stale_generic_delivery_is_refused(
    world: World, trackers: fake.FakeTrackers, client: Client, offset: int
) -> None:
    link = sent_to_engineering(world, trackers, "webhook")
    response = post(client, link.tracker_id, *resolving("webhook", link, at=time.time() + offset))
    assert response.status_code == 409 and "stale timestamp" in response.json()["detail"]
    assert post(client, link.tracker_id, *resolving("webhook", link, at=time.time() - 4 * 60)).status_code == 200


@pytest.mark.django_db
def test_an_unknown_or_inactive_tracker_is_not_found(world: World, trackers: fake.FakeTrackers, client: Client) -> None:
    link = sent_to_engineering(world, trackers, "github")
    body, headers = resolving("github", link)
    assert post(client, link.tracker_id + 1000, body, headers).status_code == 404
    EngineeringTracker.objects.filter(pk=link.tracker_id).update(is_active=False)
    assert post(client, link.tracker_id, body, headers).status_code == 404
    assert client.get(reverse("intake:engineering-webhook", args=[link.tracker_id])).status_code == 405


# --- well signed, nothing to do ------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "event", "reason"),
    [
        ("github", lambda link: fake.github_closed(SECRET, int(link.external_id), action="opened"), "issues.opened"),
        ("github", lambda link: fake.github_closed(SECRET, 9999), "no ticket is linked to issue 9999"),
        ("jira", lambda link: fake.jira_resolved(SECRET, link.external_id, done=False), "is not resolved"),
        ("jira", lambda link: fake.jira_resolved(SECRET, "HR-3"), "not in project OPS"),
        ("webhook", lambda link: fake.generic_resolved(SECRET, link.external_id, event="commented"), "'commented'"),
    ],
)
def test_a_well_signed_event_we_do_not_act_on_is_accepted_and_ignored(
    world: World, trackers: fake.FakeTrackers, client: Client, kind: str, event: Any, reason: str
) -> None:
    link = sent_to_engineering(world, trackers, kind)
    response = post(client, link.tracker_id, *event(link))
    assert response.status_code == 202 and reason in response.json()["detail"]
    link.refresh_from_db()
    assert link.state == "open" and not WebhookDelivery.objects.exists()
    assert Ticket.objects.get(pk=link.ticket_id).status == "pending_engineering"


# --- at the same time ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("tasks_in_process")
@pytest.mark.django_db(transaction=True)
def test_two_copies_of_a_delivery_at_once_act_once(world: World, trackers: fake.FakeTrackers) -> None:
    link = sent_to_engineering(world, trackers, "github")
    body, headers = resolving("github", link)
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def deliver() -> None:
        try:
            barrier.wait(timeout=10)
            statuses.append(post(Client(), link.tracker_id, body, headers).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [200, 409]
    assert Ticket.objects.get(pk=link.ticket_id).timeline.filter(event="engineering_resolved").count() == 1
    assert WebhookDelivery.objects.count() == 1
