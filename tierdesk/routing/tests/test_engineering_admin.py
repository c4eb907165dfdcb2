"""Engineering trackers in the admin: secrets typed in, never shown, never in the audit trail."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from tierdesk.audit.models import AuditEvent
from tierdesk.routing.admin import EngineeringTrackerAdmin
from tierdesk.routing.models import EngineeringTracker
from tierdesk.testing.fixtures import World

pytestmark = pytest.mark.django_db

TOKEN = "ghp_secretTokenNeverShown"
INBOUND = "inbound-secret-never-shown"


def form(world: World, **changes: str) -> dict[str, str]:
    return {
        "organisation": str(world.provider.pk),
        "name": "Desk app",
        "kind": "github",
        "is_active": "on",
        "base_url": "https://api.github.com",
        "project": "northwind/desk-app",
        "username": "",
        "token": TOKEN,
        "outbound_secret": "",
        "inbound_secret": INBOUND,
        **changes,
    }


def test_tracker_secrets_are_kept_out_of_pages_lists_and_the_audit_trail(world: World) -> None:
    assert not set(EngineeringTrackerAdmin.list_display) & {"token", "outbound_secret", "inbound_secret"}
    client = Client()
    client.force_login(world.admin)
    added = client.post(reverse("admin:routing_engineeringtracker_add"), form(world))
    assert added.status_code == 302, added.content
    tracker = EngineeringTracker.objects.get()
    assert (tracker.token, tracker.inbound_secret) == (TOKEN, INBOUND)

    change_url = reverse("admin:routing_engineeringtracker_change", args=[tracker.pk])
    for page in (client.get(reverse("admin:routing_engineeringtracker_changelist")), client.get(change_url)):
        assert page.status_code == 200
        assert TOKEN not in page.content.decode() and INBOUND not in page.content.decode()

    # Saved again with the secret fields left empty: the stored secrets stay, and only the name changed.
    changed = client.post(change_url, form(world, name="Desk app (GitHub)", token="", inbound_secret=""))
    assert changed.status_code == 302, changed.content
    tracker.refresh_from_db()
    assert (tracker.name, tracker.token, tracker.inbound_secret) == ("Desk app (GitHub)", TOKEN, INBOUND)

    client.post(change_url, form(world, name="Desk app (GitHub)", token="ghp_rotated", inbound_secret=""))
    tracker.refresh_from_db()
    assert tracker.token == "ghp_rotated"

    audit = list(AuditEvent.objects.filter(action__startswith="engineeringtracker.").order_by("pk"))
    assert [a.action for a in audit] == ["engineeringtracker.created"] + ["engineeringtracker.changed"] * 2
    assert audit[0].after["token"] == "(changed)" and set(audit[1].after) == {"name"}
    assert audit[2].after == {"token": "(changed)"}
    stored = json.dumps([a.after for a in audit])
    assert TOKEN not in stored and INBOUND not in stored and "ghp_rotated" not in stored


def test_a_new_tracker_needs_its_inbound_secret(world: World) -> None:
    client = Client()
    client.force_login(world.admin)
    response = client.post(reverse("admin:routing_engineeringtracker_add"), form(world, inbound_secret=""))
    assert (
        response.status_code == 200
        and "Set the secret the tracker signs its webhooks with." in response.content.decode()
    )
    assert not EngineeringTracker.objects.exists()
