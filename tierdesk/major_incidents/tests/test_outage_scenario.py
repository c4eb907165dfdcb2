"""The outage that defines issue 7, end to end through the public interfaces.

A site's core switch fails: Alertmanager fires one alert, and within ten minutes 40 users of that
site open tickets through the portal, by e-mail and through the API. One major incident owned by
the NOC holds all 40; one update reaches the 40 requesters; the recovery alert resolves the major
incident and every child, and each requester hears of it once.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest
from django.test import Client

from tierdesk.cmdb import services as cmdb
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.intake.alerts.services import create_alert_source
from tierdesk.intake.mail.services import receive_email
from tierdesk.major_incidents.models import DeclarationRule, MajorIncident
from tierdesk.notifications.models import OutboxMessage
from tierdesk.tenancy.models import Announcement
from tierdesk.testing import factories as f
from tierdesk.testing.fixtures import World, api_client_for
from tierdesk.testing.mail import desk_mailbox, raw_email
from tierdesk.tickets.choices import TicketStatus
from tierdesk.tickets.models import Category, Ticket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("tasks_in_process")]

COMPLAINTS = [
    "Network is down on the 3rd floor",
    "No internet since a few minutes",
    "Cannot reach the EHR",
    "Wifi keeps dropping",
    "Outlook will not connect",
    "Shared drive unreachable",
    "Teams disconnected in the middle of a call",
    "Cannot connect to the VPN gateway",
]


def _alert(status: str) -> bytes:
    return json.dumps(
        {
            "version": "4",
            "status": status,
            "receiver": "tierdesk",
            "groupKey": '{}:{alertname="InstanceDown"}',
            "alerts": [
                {
                    "status": status,
                    "labels": {"alertname": "InstanceDown", "instance": "core-sw-01:9100", "severity": "critical"},
                    "annotations": {"summary": "Core switch core-sw-01 at Main campus is down"},
                    "startsAt": "2026-12-05T09:00:00Z",
                    "fingerprint": "a1b2c3d4e5f60718",
                }
            ],
        }
    ).encode()


def test_one_alert_and_forty_users_become_one_major_incident_resolved_together(world: World) -> None:
    system = Actor.system("command")
    world.client.email_domain = "hospital.test"
    world.client.save()
    noc = f.SupportGroupFactory.create(organisation=world.provider, name="NOC", tier=2, serves=[world.client])
    cmdb.create_item(
        actor=system,
        organisation=world.client,
        name="core-sw-01",
        kind="network_device",
        site=world.site,
        is_core=True,
    )
    DeclarationRule.objects.create(
        organisation=world.provider, name="Core item down", kind="critical_alert_on_core", owner_group=noc
    )
    source, token = create_alert_source(
        actor=Actor(user=world.admin), organisation=world.client, name="Prometheus", kind="alertmanager"
    )
    mailbox = desk_mailbox(world.provider)
    area = Category.objects.areas().first()
    assert area is not None
    users = [
        f.RequesterFactory.create(
            organisation=world.client, name=f"User {n:02d}", email=f"user{n:02d}@hospital.test", site=world.site
        )
        for n in range(40)
    ]
    monitor = Client()
    start = clock.now()

    # 09:00 the switch fails: Alertmanager fires.
    with clock.frozen(start):
        fired = monitor.post(
            f"/hooks/alerts/{source.pk}/",
            _alert("firing"),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
    assert fired.status_code == 202, fired.content
    major = MajorIncident.objects.select_related("ticket").get()
    assert major.owner_group_id == noc.pk and major.site_id == world.site.pk

    # 09:00-09:10: forty users, through three channels.
    api = api_client_for(world.agent)
    channels: Counter[str] = Counter()
    for n, user in enumerate(users):
        complaint = COMPLAINTS[n % len(COMPLAINTS)]
        with clock.frozen(start + timedelta(seconds=15 * (n + 1))):
            if n % 3 == 0:
                browser = Client()
                browser.force_login(f.requester_login(user))
                response = browser.post(
                    "/portal/new/",
                    {"area": area.pk, "title": complaint, "description": "", "impact": "low", "urgency": "high"},
                )
                assert response.status_code == 302, response.content[:500]
                channels["portal"] += 1
            elif n % 3 == 1:
                raw = raw_email(
                    sender=f"{user.name} <{user.email}>", subject=complaint, body=f"{complaint}.\n\n{user.name}"
                )
                assert receive_email(raw=raw, mailbox=mailbox, source="smtp").record.outcome == "ticket_opened"
                channels["email"] += 1
            else:
                response = api.post(
                    "/api/v1/tickets/",
                    {"requester": user.pk, "title": complaint, "channel": "phone"},
                    format="json",
                )
                assert response.status_code == 201, response.content
                channels["api"] += 1
    assert channels == {"portal": 14, "email": 13, "api": 13}
    children = Ticket.objects.filter(parent_id=major.ticket_id)
    assert children.count() == 40
    assert set(children.values_list("requester_id", flat=True)) == {u.pk for u in users}
    assert MajorIncident.objects.count() == 1

    # One update reaches all forty requesters, and the portal shows it to their organisation.
    agent = Client()
    agent.force_login(world.agent)
    with clock.frozen(start + timedelta(minutes=12)):
        agent.post(
            f"/console/tickets/{major.ticket.number}/major-incident/update/",
            {"body": "The core switch failed; a replacement is being fitted.", "status": "identified"},
        )
    updates = OutboxMessage.objects.filter(purpose="major_incident_update")
    assert sorted(updates.values_list("to_addresses", flat=True)) == sorted(u.email for u in users)
    banner = Announcement.objects.get(organisation=world.client, ends_at__isnull=True)
    assert "replacement is being fitted" in banner.body

    # 09:40 the switch is back: the recovery resolves the major incident and all its children.
    with clock.frozen(start + timedelta(minutes=40)):
        recovered = monitor.post(
            f"/hooks/alerts/{source.pk}/",
            _alert("resolved"),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
    assert recovered.status_code == 202, recovered.content
    major.refresh_from_db()
    major.ticket.refresh_from_db()
    assert major.ticket.status == TicketStatus.RESOLVED and major.status == "resolved"
    assert set(children.values_list("status", flat=True)) == {TicketStatus.RESOLVED}
    resolved_mail = Counter(OutboxMessage.objects.filter(purpose="resolved").values_list("to_addresses", flat=True))
    assert resolved_mail == {u.email: 1 for u in users}  # each requester told once
    assert not Announcement.objects.filter(ends_at__isnull=True).exists()
