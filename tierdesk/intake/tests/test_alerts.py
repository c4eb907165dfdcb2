"""Monitoring alerts open, update and resolve incidents, through the real webhook endpoint.

Each kind of source is posted its vendor's format (and the real bodies of ../shared/data/alerts/);
deliveries prove themselves with a token or a fresh HMAC signature, or are refused and logged;
one fingerprint is one incident however often it repeats, flapping is damped, and a storm of
concurrent senders opens exactly one incident per fingerprint.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import threading
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.models import Sum
from django.test import Client
from django.urls import reverse

from tierdesk.accounts.models import Requester
from tierdesk.accounts.services import create_requester
from tierdesk.audit.models import AuditEvent
from tierdesk.cmdb import services as cmdb
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError
from tierdesk.core.signing import sha256_signature, timestamped_message
from tierdesk.intake.alerts import formats
from tierdesk.intake.alerts import services as alerts
from tierdesk.intake.alerts.formats import strip_port
from tierdesk.intake.models import Alert, AlertDelivery, AlertSource
from tierdesk.testing.fixtures import World, shared_data
from tierdesk.tickets import services as tickets
from tierdesk.tickets.models import Ticket

SYSTEM = Actor.system()
SECRET = "hmac-secret-shared-with-the-monitoring-tool"
LOGGER = "tierdesk.intake.alerts.services"


# --- helpers ---------------------------------------------------------------------------------------------


def make_source(world: World, kind: str = "alertmanager", **settings: Any) -> tuple[AlertSource, str]:
    settings.setdefault("name", f"{kind.capitalize()} of the hospital")
    return alerts.create_alert_source(actor=SYSTEM, organisation=world.client, kind=kind, **settings)


def url(source: AlertSource | int) -> str:
    return reverse("intake:alert-webhook", args=[source if isinstance(source, int) else source.pk])


def post(client: Client, source: AlertSource | int, payload: Any, token: str | None = None, **headers: str) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return client.post(url(source), data=body, content_type="application/json", headers=headers)


def signed(body: bytes, secret: str = SECRET, *, at: int | None = None, delivery: str | None = None) -> dict[str, str]:
    timestamp = str(int(clock.now().timestamp()) if at is None else at)
    return {
        "X-Tierdesk-Timestamp": timestamp,
        "X-Tierdesk-Signature": sha256_signature(secret, timestamped_message(timestamp, body)),
        "X-Tierdesk-Delivery": delivery or str(uuid.uuid4()),
    }


def am_alert(
    fingerprint: str = "a1b2c3",
    status: str = "firing",
    *,
    severity: str = "warning",
    summary: str = "Disk almost full",
    **labels: str,
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "DiskFull", "severity": severity, "instance": "web-01:9100", **labels},
        "annotations": {"summary": summary, "description": "Less than 5 % left on /var."},
        "startsAt": "2026-03-01T10:00:00.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": fingerprint,
    }


def alertmanager(*items: dict[str, Any], status: str | None = None) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="DiskFull"}',
        "status": status or items[0]["status"],
        "receiver": "tierdesk",
        "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(items),
    }


def ticket_of(source: AlertSource, fingerprint: str) -> Ticket:
    alert = Alert.objects.select_related("ticket").get(source=source, fingerprint=fingerprint)
    assert alert.ticket is not None
    return alert.ticket


def outcomes(response: Any) -> list[str]:
    return [a["outcome"] for a in response.json()["alerts"]]


# --- Alertmanager ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_alertmanager_firing_opens_an_incident_repeats_count_and_resolved_resolves(
    world: World, client: Client
) -> None:
    source, token = make_source(world, name="Prometheus")

    response = post(client, source, alertmanager(am_alert()), token)
    assert response.status_code == 202, response.content
    assert outcomes(response) == ["opened"]
    ticket = ticket_of(source, "a1b2c3")
    assert response.json()["alerts"][0]["ticket"] == ticket.number
    assert (ticket.ticket_type, ticket.channel, ticket.status) == ("incident", "monitoring", "new")
    assert ticket.title == "Disk almost full (web-01)"
    assert (ticket.impact, ticket.urgency, ticket.priority) == ("medium", "medium", 3)
    assert ticket.requester.name == "Monitoring: Prometheus" and not ticket.requester.email
    assert "Less than 5 % left on /var." in ticket.description and "- instance: web-01:9100" in ticket.description
    opened = ticket.timeline.get(event="opened")
    assert opened.author_label == "Monitoring: Prometheus"
    assert opened.data["alert_fingerprint"] == "a1b2c3" and opened.data["source"] == "Prometheus"
    assert AuditEvent.objects.filter(action="ticket.opened", actor_label="Monitoring: Prometheus").exists()

    for _ in range(3):
        assert outcomes(post(client, source, alertmanager(am_alert()), token)) == ["repeated"]
    alert = Alert.objects.get(source=source)
    assert (alert.count, alert.status) == (4, "firing") and alert.last_seen_at >= alert.first_seen_at
    assert Ticket.objects.filter(channel="monitoring").count() == 1
    assert not ticket.timeline.filter(event="alert_repeated").exists()  # not before the 10th

    response = post(client, source, alertmanager(am_alert(status="resolved")), token)
    assert outcomes(response) == ["resolved"]
    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolution_code) == ("resolved", "fixed")
    assert ticket.resolution_notes == "Recovered: monitoring reports resolved."
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.resolved_at is not None
    # The same resolve again (Alertmanager re-sends) changes nothing.
    assert outcomes(post(client, source, alertmanager(am_alert(status="resolved")), token)) == ["ignored"]


@pytest.mark.django_db
def test_alertmanager_without_fingerprints_uses_the_labels_and_the_groups_status(world: World, client: Client) -> None:
    source, token = make_source(world)
    item = am_alert()
    del item["fingerprint"], item["status"]
    assert outcomes(post(client, source, alertmanager(item, status="firing"), token)) == ["opened"]
    assert outcomes(post(client, source, alertmanager(item, status="firing"), token)) == ["repeated"]
    other = copy.deepcopy(item)
    other["labels"]["instance"] = "web-02:9100"
    assert outcomes(post(client, source, alertmanager(other, status="firing"), token)) == ["opened"]
    fingerprints = list(Alert.objects.values_list("fingerprint", flat=True))
    assert len(set(fingerprints)) == 2 and all(f.startswith("labels:") for f in fingerprints)
    assert outcomes(post(client, source, alertmanager(item, status="resolved"), token)) == ["resolved"]


@pytest.mark.django_db
def test_the_tenth_and_hundredth_repeat_reach_the_timeline_and_no_other(world: World, client: Client) -> None:
    source, token = make_source(world)
    for _ in range(100):
        post(client, source, alertmanager(am_alert()), token)
    ticket = ticket_of(source, "a1b2c3")
    counts = [e.data["count"] for e in ticket.timeline.filter(event="alert_repeated").order_by("created_at")]
    assert counts == [10, 100]
    assert Alert.objects.get().count == 100


# --- Grafana ---------------------------------------------------------------------------------------------


def grafana_alert(fingerprint: str, status: str = "firing", **labels: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "High CPU", "severity": "critical", **labels},
        "annotations": {"summary": f"CPU above 95 % ({fingerprint})"},
        "startsAt": "2026-03-01T10:00:00+01:00",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": fingerprint,
        "valueString": "[ var='B' labels={} value=97.5 ]",
    }


@pytest.mark.django_db
def test_grafana_alerts_each_become_an_incident(world: World, client: Client) -> None:
    source, token = make_source(world, "grafana")
    body = {"receiver": "tierdesk", "status": "firing", "orgId": 1, "version": "1", "alerts": []}
    body["alerts"] = [grafana_alert("g1"), grafana_alert("g2")]
    assert outcomes(post(client, source, body, token)) == ["opened", "opened"]
    first = ticket_of(source, "g1")
    assert (first.impact, first.urgency, first.priority) == ("high", "high", 1)
    assert "value=97.5" in first.description
    body["alerts"] = [grafana_alert("g1", "resolved"), grafana_alert("g2")]
    body["status"] = "firing"
    assert outcomes(post(client, source, body, token)) == ["resolved", "repeated"]
    assert ticket_of(source, "g1").status == "resolved" and ticket_of(source, "g2").status == "new"


# --- Zabbix ----------------------------------------------------------------------------------------------


def zabbix(value: str = "1", severity: str = "High", **extra: str) -> dict[str, Any]:
    """The parameters docs/integrations/zabbix.md sets on the webhook media type, macros resolved."""
    return {
        "event_id": "7001",
        "trigger_id": "13550",
        "event_value": value,
        "event_update_status": "0",
        "severity": severity,
        "host": "db-01",
        "host_name": "Database server 01",
        "host_ip": "10.0.0.21",
        "trigger_name": "MySQL is down",
        "trigger_description": "The mysqld process is not running.",
        "event_tags": json.dumps([{"tag": "service", "value": "EHR"}, {"tag": "scope", "value": "availability"}]),
        "recovery_event_id": "{EVENT.RECOVERY.ID}",
        **extra,
    }


@pytest.mark.django_db
def test_zabbix_problem_opens_update_notes_and_recovery_resolves(world: World, client: Client) -> None:
    source, token = make_source(world, "zabbix")
    ehr = cmdb.create_service(actor=SYSTEM, organisation=world.client, name="EHR")
    response = post(client, source, zabbix(), token)
    assert outcomes(response) == ["opened"], response.content
    ticket = ticket_of(source, "zabbix:trigger:13550")
    assert ticket.title == "MySQL is down (db-01)" and (ticket.impact, ticket.urgency) == ("high", "medium")
    assert ticket.affected_service == ehr  # the `service` tag names a business service
    assert "The mysqld process is not running." in ticket.description

    assert outcomes(post(client, source, zabbix(event_update_status="1"), token)) == ["acknowledged"]
    note = ticket.timeline.get(kind="note")
    assert note.body.startswith(f"Acknowledged in {source.name}") and not note.is_public

    response = post(client, source, zabbix("0", recovery_event_id="7002", event_id="7001"), token)
    assert outcomes(response) == ["resolved"]
    ticket.refresh_from_db()
    assert ticket.status == "resolved"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"trigger_id": "{TRIGGER.ID}", "event_id": ""}, "needs trigger_id"),
        ({"event_value": "{EVENT.VALUE}"}, "event_value 1 (problem) or 0 (recovery)"),
    ],
)
def test_zabbix_without_its_parameters_is_refused_with_the_reason(
    world: World, client: Client, change: dict[str, str], reason: str
) -> None:
    source, token = make_source(world, "zabbix")
    response = post(client, source, zabbix(**change), token)
    assert response.status_code == 400 and reason in response.json()["detail"]
    assert not Alert.objects.exists()


# --- PagerDuty -------------------------------------------------------------------------------------------


def pagerduty(action: str, dedup_key: str = "disk-web-01", **payload: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"routing_key": "r0ut1ng", "event_action": action, "dedup_key": dedup_key}
    if action == "trigger":
        event["payload"] = {
            "summary": "Disk full on web-01",
            "source": "web-01",
            "severity": "error",
            "component": "nginx",
            "custom_details": {"free": "1%"},
            **payload,
        }
    return event


@pytest.mark.django_db
def test_pagerduty_trigger_acknowledge_resolve(world: World, client: Client) -> None:
    source, token = make_source(world, "pagerduty")
    assert outcomes(post(client, source, pagerduty("trigger"), token)) == ["opened"]
    ticket = ticket_of(source, "disk-web-01")
    assert ticket.title == "Disk full on web-01" and (ticket.impact, ticket.urgency) == ("high", "medium")
    assert outcomes(post(client, source, pagerduty("acknowledge"), token)) == ["acknowledged"]
    assert ticket.timeline.filter(kind="note").count() == 1
    ticket.refresh_from_db()
    assert ticket.status == "new"  # an acknowledgement is a note, nothing more
    assert outcomes(post(client, source, pagerduty("resolve"), token)) == ["resolved"]
    ticket.refresh_from_db()
    assert ticket.status == "resolved"


@pytest.mark.django_db
def test_pagerduty_senders_may_give_the_token_as_routing_key(world: World, client: Client) -> None:
    source, token = make_source(world, "pagerduty")
    event = pagerduty("trigger")
    event["routing_key"] = token
    assert post(client, source, event).status_code == 202
    event["routing_key"] = "not-the-token"
    assert post(client, source, event).status_code == 401


@pytest.mark.django_db
def test_pagerduty_trigger_without_dedup_key_gets_a_stable_one(world: World, client: Client) -> None:
    source, token = make_source(world, "pagerduty")
    event = pagerduty("trigger")
    del event["dedup_key"]
    first = post(client, source, event, token).json()["alerts"][0]
    again = post(client, source, event, token).json()["alerts"][0]
    assert (first["outcome"], again["outcome"]) == ("opened", "repeated")
    assert first["fingerprint"] == again["fingerprint"]  # what the sender resolves it with


# --- the generic webhook ---------------------------------------------------------------------------------

MAPPING = {
    "alerts": "data.events",
    "fingerprint": "id",
    "status": "state",
    "severity": "level",
    "summary": "title",
    "description": "details.text",
    "labels": "tags",
    "host": "node",
    "firing_values": ["alerting", "pending"],
    "resolved_values": ["ok"],
}


def generic_event(state: str = "ALERTING", **extra: Any) -> dict[str, Any]:
    event = {
        "id": "chk-42",
        "state": state,
        "level": "crit",
        "title": "Replication lag above 5 min",
        "details": {"text": "Replica is 412 s behind."},
        "tags": {"cluster": "pg-main", "role": "replica"},
        "node": "pg-02.internal:5432",
        **extra,
    }
    return {"version": 2, "data": {"events": [event]}}


@pytest.mark.django_db
def test_a_tool_never_seen_before_is_mapped_with_jmespath(world: World, client: Client) -> None:
    source, token = make_source(
        world, "generic", name="Homegrown checks", mapping=MAPPING, severity_map={"crit": ["high", "high"]}
    )
    item = cmdb.create_item(actor=SYSTEM, organisation=world.client, name="pg-02.internal", site=world.site)
    response = post(client, source, generic_event(), token)
    assert outcomes(response) == ["opened"], response.content
    ticket = ticket_of(source, "chk-42")
    assert ticket.title == "Replication lag above 5 min (pg-02.internal)" and ticket.priority == 1
    assert ticket.affected_item == item and ticket.description.startswith("Replica is 412 s behind.")
    assert Alert.objects.get().labels == {"cluster": "pg-main", "role": "replica"}
    assert outcomes(post(client, source, generic_event("Pending"), token)) == ["repeated"]
    assert outcomes(post(client, source, generic_event("OK"), token)) == ["resolved"]

    response = post(client, source, generic_event("exploded"), token)
    assert response.status_code == 400 and "'exploded'" in response.json()["detail"]


def test_a_wrong_mapping_is_refused_when_the_source_is_made(world: World) -> None:
    with pytest.raises(DomainError, match="is not a JMESPath expression"):
        make_source(world, "generic", mapping={"fingerprint": "id[", "status": "state"})
    with pytest.raises(DomainError, match="unknown key 'fingerprnt'"):
        make_source(world, "generic", mapping={"fingerprnt": "id"})
    with pytest.raises(DomainError, match=r"\[impact, urgency\]"):
        make_source(world, severity_map={"crit": ["huge", "high"]})


# --- bodies we cannot read ----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "the body is not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"status": "firing"}', "needs an 'alerts' list"),
        (b'{"alerts": [{"status": "firing"}]}', "neither a fingerprint nor labels"),
        (b'{"alerts": [{"status": "pending", "fingerprint": "x"}]}', "status 'pending'"),
    ],
)
def test_a_body_that_cannot_be_read_is_a_400_with_the_reason(
    world: World, client: Client, body: bytes, reason: str
) -> None:
    source, token = make_source(world)
    response = post(client, source, body, token)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json" and reason in response.json()["detail"]


# --- proof, freshness, replays ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_refusals_are_401_403_404_413_and_each_is_logged(
    world: World, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    source, token = make_source(world, signing_secret=SECRET)
    body = json.dumps(alertmanager(am_alert())).encode()
    caplog.set_level(logging.WARNING, logger=LOGGER)

    def refused(response: Any, status: int, reason: str) -> None:
        assert response.status_code == status, response.content
        assert reason in response.json()["detail"]
        logged = caplog.records[-1].getMessage()
        assert f"refused ({status}): " in logged and reason in logged

    refused(post(client, source, body), 401, "unsigned")
    refused(post(client, source, body, "td_guessed"), 401, "bad token")
    refused(post(client, source, body, Authorization=f"Token {token}"), 401, "must read 'Bearer <token>'")
    refused(post(client, source, body, **signed(body, "another-secret")), 401, "bad signature")
    tampered = signed(body)
    refused(post(client, source, body.replace(b"web-01", b"web-66"), **tampered), 401, "bad signature")
    stale = int(clock.now().timestamp()) - 301
    refused(post(client, source, body, **signed(body, at=stale)), 403, "stale timestamp")
    once = signed(body, delivery="delivery-1")
    assert post(client, source, body, **once).status_code == 202
    refused(post(client, source, body, **once), 403, "delivery delivery-1 was already received")
    refused(post(client, 999_999, body, token), 404, "no such alert source")
    AlertSource.objects.filter(pk=source.pk).update(is_active=False)
    refused(post(client, source, body, token), 404, "no such alert source")
    AlertSource.objects.filter(pk=source.pk).update(is_active=True)
    refused(post(client, source, b" " * (alerts.MAX_BODY + 1), token), 413, "larger than 1,000,000 bytes")
    assert client.get(url(source)).status_code == 405

    # Of all that, one delivery acted: the signed one, once.
    assert Alert.objects.get().count == 1 and AlertDelivery.objects.count() == 1
    assert caplog.text.count("refused (") == 10


@pytest.mark.django_db
def test_a_source_without_a_signing_secret_refuses_signatures(world: World, client: Client) -> None:
    source, token = make_source(world)
    body = json.dumps(alertmanager(am_alert())).encode()
    response = post(client, source, body, **signed(body))
    assert response.status_code == 401 and "no signing secret" in response.json()["detail"]
    assert post(client, source, body, token).status_code == 202


# --- lifecycle -------------------------------------------------------------------------------------------


def fire(source: AlertSource, at: datetime, status: str = "firing", fingerprint: str = "a1b2c3") -> str:
    actor = alerts.source_actor(source)
    alert = formats.alertmanager(alertmanager(am_alert(fingerprint, status))).alerts[0]
    with clock.frozen(at):
        (outcome,) = alerts.receive_alerts(actor=actor, source=source, alerts=[alert])
        alerts.settle_flapping(actor=actor, source=source)
    return outcome.outcome


@pytest.mark.django_db
def test_flapping_is_damped_until_the_alert_is_stable(world: World) -> None:
    source, _ = make_source(world, flap_window_minutes=30, flap_threshold=3)
    t0 = clock.now()
    minute = timedelta(minutes=1)
    steps = ["firing", "resolved"] * 5 + ["firing"]
    got = [fire(source, t0 + n * minute, status) for n, status in enumerate(steps)]
    assert got == [
        "opened",
        "resolved",
        "reopened",  # flap 1
        "resolved",
        "reopened",  # flap 2
        "resolved",
        "reopened",  # flap 3: flapping from here, the incident stays open
        "damped",
        "repeated",
        "damped",
        "repeated",
    ]
    ticket = ticket_of(source, "a1b2c3")
    alert = Alert.objects.get()
    assert alert.is_flapping and alert.flap_count == 5 and ticket.status == "in_progress"
    assert ticket.timeline.filter(event="reopened").count() == 3
    assert ticket.timeline.filter(event="alert_flapping").count() == 1
    assert not ticket.timeline.filter(event="alert_firing_again").exists()  # no chatter while flapping

    # It resolves and stays so for a window: the damping ends, the incident is resolved.
    assert fire(source, t0 + 12 * minute, "resolved") == "damped"
    assert fire(source, t0 + 13 * minute, "resolved") == "ignored"  # the same resolve, repeated
    fire(source, t0 + 43 * minute, "resolved", fingerprint="other")  # any later delivery settles it
    ticket.refresh_from_db()
    alert.refresh_from_db()
    assert (alert.is_flapping, alert.flap_count, ticket.status) == (False, 0, "resolved")
    assert ticket.timeline.filter(event="alert_stable").count() == 1


@pytest.mark.django_db
def test_recovered_awaiting_confirmation_leaves_the_incident_open(world: World) -> None:
    source, _ = make_source(world, resolve_mode="recovered_awaiting_confirmation")
    t0 = clock.now()
    assert fire(source, t0) == "opened"
    assert fire(source, t0 + timedelta(minutes=1), "resolved") == "recovered"
    ticket = ticket_of(source, "a1b2c3")
    assert ticket.status == "new"
    event = ticket.timeline.get(event="alert_recovered")
    assert "confirm" in event.data["reason"] and event.author_label == f"Monitoring: {source.name}"
    assert fire(source, t0 + timedelta(minutes=90)) == "repeated"
    assert ticket.timeline.filter(event="alert_firing_again").count() == 1
    assert Alert.objects.get().flap_count == 0  # 89 minutes recovered: no flap


@pytest.mark.django_db
def test_after_an_agent_closes_the_incident_a_new_firing_opens_another(world: World) -> None:
    source, _ = make_source(world, flap_window_minutes=30)
    t0 = clock.now()
    assert fire(source, t0) == "opened"
    first = ticket_of(source, "a1b2c3")
    agent = Actor(user=world.agent)
    with clock.frozen(t0 + timedelta(minutes=5)):
        tickets.transition(
            actor=agent, ticket=first, to_status="resolved", resolution_code="workaround", resolution_notes="Reboot."
        )
    # Still firing ten minutes after the agent resolved it: the fix did not hold, the incident reopens.
    assert fire(source, t0 + timedelta(minutes=15)) == "reopened"
    with clock.frozen(t0 + timedelta(minutes=20)):
        first = tickets.transition(
            actor=agent, ticket=first, to_status="resolved", resolution_code="fixed", resolution_notes="Disk grown."
        )
        tickets.transition(actor=agent, ticket=first, to_status="closed")
    assert fire(source, t0 + timedelta(minutes=25)) == "opened"
    second = ticket_of(source, "a1b2c3")
    assert second.pk != first.pk and Alert.objects.get().count == 1
    # Resolved by an agent long ago (outside the window): a new incident too.
    with clock.frozen(t0 + timedelta(minutes=26)):
        tickets.transition(
            actor=agent, ticket=second, to_status="resolved", resolution_code="fixed", resolution_notes="Again."
        )
    assert fire(source, t0 + timedelta(hours=3)) == "opened"
    assert Ticket.objects.filter(channel="monitoring").count() == 3


@pytest.mark.django_db
def test_a_resolve_for_an_alert_never_seen_is_ignored_with_the_reason(world: World, client: Client) -> None:
    source, token = make_source(world)
    response = post(client, source, alertmanager(am_alert("never-fired", "resolved")), token)
    assert response.status_code == 202
    (alert,) = response.json()["alerts"]
    assert alert["outcome"] == "ignored" and "never seen firing" in alert["reason"]
    assert not Alert.objects.exists() and not Ticket.objects.filter(channel="monitoring").exists()


@pytest.mark.django_db
def test_an_alert_that_cannot_open_an_incident_fails_alone(world: World, client: Client) -> None:
    source, token = make_source(world)
    Requester.objects.filter(pk=source.requester_id).update(is_active=False)
    response = post(client, source, alertmanager(am_alert()), token)
    assert response.status_code == 422 and "deactivated" in response.json()["detail"]
    assert not Ticket.objects.filter(channel="monitoring").exists()


# --- severity and CMDB -----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("severity", "impact", "urgency", "priority"),
    [
        ("critical", "high", "high", 1),
        ("error", "high", "medium", 2),
        ("major", "high", "medium", 2),
        ("warning", "medium", "medium", 3),
        ("info", "low", "low", 5),
        ("Disaster", "high", "high", 1),  # Zabbix's names, any case
        ("something-else", "medium", "medium", 3),
        ("page", "low", "high", 3),  # the source's own map wins over the defaults
    ],
)
def test_severity_maps_to_impact_urgency_and_priority(
    world: World, client: Client, severity: str, impact: str, urgency: str, priority: int
) -> None:
    source, token = make_source(world, severity_map={"page": ["low", "high"]})
    post(client, source, alertmanager(am_alert(severity=severity)), token)
    ticket = ticket_of(source, "a1b2c3")
    assert (ticket.impact, ticket.urgency, ticket.priority) == (impact, urgency, priority)


@pytest.mark.django_db
def test_an_alert_names_its_configuration_item_service_and_site(world: World, client: Client) -> None:
    network = cmdb.create_service(actor=SYSTEM, organisation=world.client, name="Site network: Main campus")
    switch = cmdb.create_item(
        actor=SYSTEM,
        organisation=world.client,
        name="core-sw-01",
        kind="network_device",
        site=world.site,
        services=[network],
        is_core=True,
    )
    source, token = make_source(world)
    alert = am_alert("sw", severity="critical", summary="Interface Gi1/0/1 down", instance="core-sw-01:161")
    post(client, source, alertmanager(alert), token)
    ticket = ticket_of(source, "sw")
    assert (ticket.affected_item, ticket.affected_service, ticket.site) == (switch, network, world.site)
    assert ticket.title == "Interface Gi1/0/1 down (core-sw-01)" and ticket.priority == 1


@pytest.mark.django_db
def test_items_match_by_labels_and_the_most_specific_wins(world: World, client: Client) -> None:
    cmdb.create_item(actor=SYSTEM, organisation=world.client, name="ups-room", labels={"room": "B2"})
    rack = cmdb.create_item(
        actor=SYSTEM, organisation=world.client, name="ups-rack-7", labels={"room": "B2", "rack": "7"}
    )
    elsewhere = cmdb.create_item(actor=SYSTEM, organisation=world.provider, name="ups-noc", labels={"room": "NOC"})
    source, token = make_source(world)
    post(client, source, alertmanager(am_alert("ups", instance="10.9.9.9:9100", room="B2", rack="7")), token)
    assert ticket_of(source, "ups").affected_item == rack
    post(client, source, alertmanager(am_alert("noc", instance="10.9.9.8:9100", room="NOC")), token)
    noc = ticket_of(source, "noc")
    assert noc.affected_item == elsewhere and noc.site is None  # the provider's item, at no site of the hospital's
    post(client, source, alertmanager(am_alert("none", instance="10.9.9.7:9100", room="C3")), token)
    assert ticket_of(source, "none").affected_item is None


def test_ports_come_off_host_names() -> None:
    assert strip_port("core-sw-01:161") == "core-sw-01"
    assert strip_port("10.0.0.1:9100") == "10.0.0.1"
    assert strip_port("[fe80::1]:9100") == "fe80::1"
    assert strip_port("fe80::1") == "fe80::1"
    assert strip_port("core-sw-01") == "core-sw-01"


# --- the real payloads of ../shared/data/alerts ----------------------------------------------------------


def real(relative: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(shared_data(f"alerts/{relative}").read_text())
    return loaded


def resolved_copy(payload: dict[str, Any]) -> dict[str, Any]:
    flipped = copy.deepcopy(payload)
    flipped["status"] = "resolved"
    for alert in flipped["alerts"]:
        alert["status"] = "resolved"
        alert["endsAt"] = "2026-03-01T11:00:00Z"
    return flipped


@pytest.mark.django_db
def test_the_real_alertmanager_delivery_opens_its_incident_and_its_resolve_closes_it(
    world: World, client: Client
) -> None:
    payload = real("prometheus-alertmanager/webhook-v4-firing-from-prometheus-msteams-testdata.json")
    source, token = make_source(world)
    assert outcomes(post(client, source, payload, token)) == ["opened"]
    (alert,) = Alert.objects.all()
    ticket = ticket_of(source, alert.fingerprint)
    assert ticket.title == "Server High Memory usage (instance-with-hyphen_and_underscore)"
    assert ticket.priority == 3 and "10.80.40.11 reported high memory usage" in ticket.description
    assert alert.labels["job"] == "docker_nodes" and alert.severity == "warning"
    assert outcomes(post(client, source, resolved_copy(payload), token)) == ["resolved"]
    ticket.refresh_from_db()
    assert ticket.status == "resolved"


@pytest.mark.django_db
def test_the_real_grafana_delivery_opens_two_incidents_and_its_resolve_closes_both(
    world: World, client: Client
) -> None:
    payload = real("grafana-alerting/webhook-payload-docs-example.json")
    source, token = make_source(world, "grafana")
    assert outcomes(post(client, source, payload, token)) == ["opened", "opened"]
    memory = ticket_of(source, "c6eadffa33fcdf37")
    assert memory.title == "This alert was triggered for zone us-1" and memory.priority == 3
    assert "The system has high memory usage" in memory.description
    assert outcomes(post(client, source, resolved_copy(payload), token)) == ["resolved", "resolved"]
    assert set(Ticket.objects.filter(channel="monitoring").values_list("status", flat=True)) == {"resolved"}


@pytest.mark.django_db
def test_the_real_pagerduty_events(world: World, client: Client) -> None:
    trigger = real("pagerduty/events-v2-trigger.json")
    source, token = make_source(world, "pagerduty")
    assert outcomes(post(client, source, trigger, token)) == ["opened"]
    ticket = ticket_of(source, "samplekeyhere")
    assert ticket.title.startswith("Example alert on host1.example.com") and ticket.priority == 5  # info
    assert Alert.objects.get().labels["component"] == "postgres"
    # The documentation's acknowledge and resolve name another dedup key: nothing of ours to act on.
    for name in ("events-v2-acknowledge.json", "events-v2-resolve.json"):
        (outcome,) = post(client, source, real(f"pagerduty/{name}"), token).json()["alerts"]
        assert outcome["outcome"] == "ignored" and "never seen firing" in outcome["reason"]
    # The same resolve for the trigger's key resolves its incident.
    resolve = {**real("pagerduty/events-v2-resolve.json"), "dedup_key": trigger["dedup_key"]}
    assert outcomes(post(client, source, resolve, token)) == ["resolved"]
    ticket.refresh_from_db()
    assert ticket.status == "resolved"
    # A change event is no alert; PagerDuty's own outbound webhooks are refused with the reason.
    response = post(client, source, real("pagerduty/events-v2-change-event.json"), token)
    assert response.status_code == 202 and "a change event" in response.json()["detail"]
    for name in ("webhook-v3-incident.priority_updated.json", "webhook-v2-legacy-incident.trigger.json"):
        response = post(client, source, real(f"pagerduty/{name}"), token)
        assert response.status_code == 400 and "not an Events API v2 event" in response.json()["detail"]


# --- configuration ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_source_gets_a_monitoring_requester_and_a_hashed_token(world: World) -> None:
    source, token = make_source(world, name="Zabbix HQ", signing_secret=SECRET)
    assert source.requester.name == "Monitoring: Zabbix HQ" and source.requester.organisation == world.client
    assert not source.requester.email and not source.requester.phone
    assert token.startswith("tda_") and token not in source.token_hash and source.token_prefix == token[:10]
    assert SECRET not in source.signing_secret_encrypted
    event = AuditEvent.objects.get(action="alert_source.created")
    assert token not in json.dumps(event.after) and SECRET not in json.dumps(event.after)
    with pytest.raises(DomainError, match="e-mail address or a phone number"):
        create_requester(actor=SYSTEM, organisation=world.client, name="Nobody")  # still, for people


def bearer(page: str) -> str:
    found = re.search(r"Bearer (tda_[\w-]+)", page)
    assert found, "no token on the page"
    return found.group(1)


@pytest.mark.django_db
def test_the_admin_shows_the_token_once(world: World) -> None:
    client = Client()
    client.force_login(world.admin)
    form = {
        "organisation": world.client.pk,
        "name": "Prometheus",
        "kind": "alertmanager",
        "requester": "",
        "is_active": "on",
        "resolve_mode": "resolve",
        "flap_window_minutes": 30,
        "flap_threshold": 3,
        "mapping": "{}",
        "severity_map": "{}",
        "signing_secret": "",
    }
    response = client.post("/admin/intake/alertsource/add/", form, follow=True)
    assert response.status_code == 200
    source = AlertSource.objects.get()
    page = response.content.decode()
    token = bearer(page)
    assert token.startswith("tda_") and "copy the token now" in page.lower()
    assert post(Client(), source, alertmanager(am_alert()), token).status_code == 202
    assert token not in client.get(f"/admin/intake/alertsource/{source.pk}/change/").content.decode()
    assert AuditEvent.objects.filter(action="alert_source.created").count() == 1

    response = client.post(
        "/admin/intake/alertsource/", {"action": "issue_token", "_selected_action": [source.pk]}, follow=True
    )
    fresh = bearer(response.content.decode())
    assert fresh != token
    assert post(Client(), source, alertmanager(am_alert()), token).status_code == 401
    assert post(Client(), source, alertmanager(am_alert()), fresh).status_code == 202
    assert client.get("/admin/intake/alert/").status_code == 200
    alert = Alert.objects.get()
    assert client.get(f"/admin/intake/alert/{alert.pk}/change/").status_code == 200


# --- the storm -------------------------------------------------------------------------------------------


def storm(world: World, *, deliveries: int, fingerprints: int, senders: int) -> tuple[AlertSource, float]:
    """`deliveries` firing deliveries of `fingerprints` alerts, from `senders` threads through the real
    view, each thread with its own database connection; half the senders sign, half use the token."""
    source, token = make_source(world, name="Storm", signing_secret=SECRET)
    bodies = [
        json.dumps(alertmanager(am_alert(f"fp-{n:03d}", instance=f"pg-{n:03d}:9187"))).encode()
        for n in range(fingerprints)
    ]
    barrier = threading.Barrier(senders)
    errors: list[BaseException] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def send(sender: int) -> None:
        client = Client()
        try:
            barrier.wait(timeout=60)
            for n in range(sender, deliveries, senders):
                body = bodies[n % fingerprints]
                if sender % 2:
                    response = post(client, source, body, **signed(body, delivery=f"storm-{n}"))
                else:
                    response = post(client, source, body, token)
                with lock:
                    statuses[response.status_code] += 1
        except BaseException as exc:  # reported by the test, not lost with the thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(senders)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=900)
    elapsed = time.perf_counter() - started
    assert not any(thread.is_alive() for thread in threads), "a sender did not finish"
    assert errors == []
    assert statuses == {202: deliveries}, statuses
    return source, elapsed


def assert_one_incident_per_fingerprint(source: AlertSource, deliveries: int, fingerprints: int) -> None:
    assert Alert.objects.filter(source=source).count() == fingerprints
    incidents = Ticket.objects.filter(channel="monitoring", requester=source.requester)
    assert incidents.count() == fingerprints
    ticket_ids = list(Alert.objects.filter(source=source).values_list("ticket_id", flat=True))
    assert len(set(ticket_ids)) == fingerprints and set(ticket_ids) == set(incidents.values_list("pk", flat=True))
    assert Alert.objects.filter(source=source).aggregate(total=Sum("count"))["total"] == deliveries
    per_alert = set(Alert.objects.filter(source=source).values_list("count", flat=True))
    assert per_alert == {deliveries // fingerprints}
    assert AlertDelivery.objects.filter(source=source).count() == deliveries // 2  # the signed half, once each


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("tasks_in_process")
def test_an_alert_storm_on_postgresql_opens_exactly_one_incident_per_fingerprint(world: World) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL skipped: the full storm runs in the PostgreSQL suite (SQLite runs the small one)")
    source, elapsed = storm(world, deliveries=10_000, fingerprints=50, senders=8)
    print(f"storm: 10,000 deliveries from 8 senders in {elapsed:.1f} s ({10_000 / elapsed:,.0f}/s)")
    assert_one_incident_per_fingerprint(source, 10_000, 50)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("tasks_in_process")
def test_a_small_alert_storm_opens_exactly_one_incident_per_fingerprint(world: World) -> None:
    """The same storm, smaller, on every backend: SQLite serialises writers (BEGIN IMMEDIATE)."""
    source, _ = storm(world, deliveries=160, fingerprints=10, senders=8)
    assert_one_incident_per_fingerprint(source, 160, 10)
