"""Monitoring alerts in, incidents out: one incident per fingerprint, however many deliveries repeat it.

Each alert of a delivery is handled in its own transaction under the row lock of its Alert (made
race-free on first sight), so any number of concurrent senders update one incident:

- firing, no open incident: open one for the source's requester (channel monitoring; impact and
  urgency from the severity; the configuration item, its service and site from the CMDB);
- firing again on an open incident: count it and note when it was last seen; the timeline hears
  of it only at 10, 100, 1,000... repeats, so a storm does not bury the incident's history;
- resolved: resolve the incident ("fixed", notes "Recovered: monitoring reports resolved."), or
  with resolve mode "recovered, awaiting confirmation" record `alert_recovered` and leave it open;
- firing within the flap window after the incident was resolved: reopen it (a flap when the alert
  itself had recovered). Past the source's flap threshold the alert is flapping: the incident's
  status stops following it until the alert has kept one status for a whole window (damping);
- firing after an agent resolved (outside the window) or closed the incident: a new incident;
- a resolve or acknowledgement for a fingerprint never seen: ignored, with the reason.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets as token_secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q

from tierdesk.accounts.models import Requester, hash_token
from tierdesk.accounts.services import create_requester
from tierdesk.audit.services import record_event
from tierdesk.cmdb.models import BusinessService, ConfigurationItem
from tierdesk.core import clock, secrets
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError, PermissionDenied
from tierdesk.core.models import check_lengths
from tierdesk.intake.alerts import auth, formats
from tierdesk.intake.alerts.formats import ACKNOWLEDGED, FIRING, NormalisedAlert
from tierdesk.intake.alerts.severity import check_severity_map, impact_and_urgency
from tierdesk.intake.models import Alert, AlertDelivery, AlertSource
from tierdesk.tenancy.models import Organisation
from tierdesk.tickets import services as tickets
from tierdesk.tickets import workflow
from tierdesk.tickets.choices import Channel, ResolutionCode, TicketStatus, TicketType
from tierdesk.tickets.models import Ticket

logger = logging.getLogger(__name__)

MAX_BODY = 1_000_000  # bytes; a larger delivery is refused with 413
TOKEN_PREFIX = "tda_"
RESOLUTION_NOTES = "Recovered: monitoring reports resolved."
MAX_TITLE = 250


class Outcome:
    OPENED = "opened"
    REPEATED = "repeated"
    REOPENED = "reopened"
    RESOLVED = "resolved"
    RECOVERED = "recovered"
    ACKNOWLEDGED = "acknowledged"
    DAMPED = "damped"
    IGNORED = "ignored"
    FAILED = "failed"


@dataclass(frozen=True)
class AlertOutcome:
    fingerprint: str
    outcome: str  # one of Outcome
    ticket: str = ""  # the incident's number
    reason: str = ""

    def as_json(self) -> dict[str, str]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v}


@dataclass(frozen=True)
class DeliveryOutcome:
    status: int  # the HTTP status to answer: 202 taken, 4xx refused
    detail: str
    alerts: tuple[AlertOutcome, ...] = ()


def source_actor(source: AlertSource, ip: str | None = None) -> Actor:
    """Who acts for a monitoring source: no login, its name on the timeline and in the audit trail."""
    return Actor(user=None, ip=ip, via="monitoring", name=f"Monitoring: {source.name}")


# --- a delivery -----------------------------------------------------------------------------------------


def refuse(actor: Actor, source_id: int, status: int, reason: str) -> DeliveryOutcome:
    """A refused delivery, logged with its reason (who sent it, what was wrong)."""
    logger.warning("alert delivery for source %s from %s refused (%s): %s", source_id, actor.ip, status, reason)
    return DeliveryOutcome(status, reason)


def receive_delivery(*, actor: Actor, source_id: int, headers: Mapping[str, str], body: bytes) -> DeliveryOutcome:
    """Check a webhook delivery (size, source, proof, freshness, replay), read it and act on each alert."""
    if len(body) > MAX_BODY:
        return refuse(actor, source_id, 413, f"the body is {len(body):,} bytes; at most {MAX_BODY:,}")
    try:
        source = AlertSource.objects.get(pk=source_id, is_active=True)
    except AlertSource.DoesNotExist:
        return refuse(actor, source_id, 404, "no such alert source, or it is switched off")
    actor = dataclasses.replace(actor, name=actor.name or source_actor(source).name)
    try:
        delivery_id = auth.authenticate(source, headers, body, now=clock.now().timestamp())
    except auth.Refused as refusal:
        return refuse(actor, source_id, refusal.status, refusal.reason)
    try:
        parsed = formats.parse(source.kind, body, source.mapping)
    except formats.FormatError as error:
        return refuse(actor, source_id, 400, str(error))
    if delivery_id and not _first_delivery(source, delivery_id):
        return refuse(actor, source_id, 403, f"delivery {delivery_id} was already received (a replay)")
    try:
        outcomes = receive_alerts(actor=actor, source=source, alerts=parsed.alerts)
    except BaseException:
        if delivery_id:  # nothing acted for certain: let the sender's retry through
            AlertDelivery.objects.filter(source=source, delivery_id=delivery_id).delete()
        raise
    if _settling_due(source.pk):
        settle_flapping(actor=actor, source=source)
    for reason in parsed.ignored:
        logger.info("alert delivery for source %s: ignored %s", source_id, reason)
    failed = [o for o in outcomes if o.outcome == Outcome.FAILED]
    if outcomes and len(failed) == len(outcomes):
        return DeliveryOutcome(422, "; ".join(o.reason for o in failed), tuple(outcomes))
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.outcome] = counts.get(o.outcome, 0) + 1
    summary = ", ".join(f"{outcome} {n}" for outcome, n in counts.items()) or "no alerts"
    if parsed.ignored:
        summary += "; ignored " + "; ".join(parsed.ignored)
    return DeliveryOutcome(202, f"{len(outcomes)} alert(s): {summary}.", tuple(outcomes))


_SETTLE_EVERY = 30.0  # seconds: flap windows are minutes, so settling need not run on every delivery
_settled_at: dict[int, float] = {}  # per process, by source id


def _settling_due(source_id: int) -> bool:
    at = time.monotonic()
    if at - _settled_at.get(source_id, -_SETTLE_EVERY) < _SETTLE_EVERY:
        return False
    _settled_at[source_id] = at  # two threads both settling at once is harmless: settle re-checks under lock
    return True


def _first_delivery(source: AlertSource, delivery_id: str) -> bool:
    """Record a signed delivery's id; False when it was recorded before (a replay, perhaps racing the original)."""
    try:
        with transaction.atomic():
            AlertDelivery.objects.create(organisation_id=source.organisation_id, source=source, delivery_id=delivery_id)
    except IntegrityError:
        return False
    return True


# --- the alerts of a delivery ---------------------------------------------------------------------------


def receive_alerts(*, actor: Actor, source: AlertSource, alerts: Iterable[NormalisedAlert]) -> list[AlertOutcome]:
    """Act on each alert in its own transaction; one that cannot be acted on never blocks the others."""
    outcomes = []
    for alert in alerts:
        try:
            outcomes.append(_receive_one(actor, source, alert))
        except DomainError as exc:
            logger.error("alert %s of source %s failed: %s", alert.fingerprint, source.pk, exc)
            outcomes.append(AlertOutcome(alert.fingerprint, Outcome.FAILED, reason=str(exc)))
    return outcomes


def _window(source: AlertSource) -> timedelta:
    return timedelta(minutes=source.flap_window_minutes)


@transaction.atomic
def _receive_one(actor: Actor, source: AlertSource, incoming: NormalisedAlert) -> AlertOutcome:
    now = clock.now()
    if incoming.status == FIRING:
        return _firing(actor, source, _lock_or_create(source, incoming, now), incoming, now)
    alert = _locked(source, incoming.fingerprint)
    if alert is None:
        what = "acknowledgement" if incoming.status == ACKNOWLEDGED else "resolve"
        return AlertOutcome(incoming.fingerprint, Outcome.IGNORED, reason=f"a {what} for an alert never seen firing")
    if incoming.status == ACKNOWLEDGED:
        return _acknowledged(actor, source, alert, incoming)
    return _resolved(actor, source, alert, incoming, now)


@dataclass(frozen=True)
class Incident:
    """What deciding needs of an alert's incident, read with the alert's locked row (no second query)."""

    status: str
    resolved_at: datetime | None
    number: str

    @property
    def is_open(self) -> bool:
        return self.status in workflow.OPEN


def _locked(source: AlertSource, fingerprint: str) -> Alert | None:
    # Only the alert row is locked (`of`): the incident is locked by the ticket services when they change it.
    try:
        return (
            Alert.objects.select_for_update(of=("self",))
            .annotate(
                incident_status=F("ticket__status"),
                incident_resolved_at=F("ticket__resolved_at"),
                incident_number=F("ticket__number"),
            )
            .get(source=source, fingerprint=fingerprint)
        )
    except Alert.DoesNotExist:
        return None


def _incident(alert: Alert) -> Incident | None:
    if alert.ticket_id is None:
        return None
    state = alert.__dict__  # the annotations of _locked, or the ticket itself when it was loaded otherwise
    if "incident_status" not in state:
        ticket = alert.ticket
        assert ticket is not None
        return Incident(ticket.status, ticket.resolved_at, ticket.number)
    return Incident(state["incident_status"], state["incident_resolved_at"], state["incident_number"])


def _lock_or_create(source: AlertSource, incoming: NormalisedAlert, now: datetime) -> Alert:
    alert = _locked(source, incoming.fingerprint)
    if alert is not None:
        return alert
    try:
        with transaction.atomic():  # a savepoint: losing the race leaves the outer transaction usable
            return Alert.objects.create(
                organisation_id=source.organisation_id,
                source=source,
                fingerprint=incoming.fingerprint,
                status=Alert.Status.FIRING,
                first_seen_at=now,
                last_seen_at=now,
            )
    except IntegrityError:
        # Another sender made it first: its insert held ours until it committed; now lock the winner.
        alert = _locked(source, incoming.fingerprint)
        if alert is None:
            raise
        return alert


def _remember(alert: Alert, incoming: NormalisedAlert, now: datetime) -> None:
    alert.last_seen_at = alert.updated_at = now
    alert.last_payload = incoming.raw
    if incoming.severity:
        alert.severity = incoming.severity[:40]
    if incoming.summary:
        alert.summary = incoming.summary[:250]
    if incoming.labels:
        alert.labels = incoming.labels


def _stable(source: AlertSource, alert: Alert, now: datetime) -> bool:
    return alert.last_flip_at is None or now - alert.last_flip_at >= _window(source)


def _end_damping(actor: Actor, alert: Alert, reason: str) -> None:
    alert.is_flapping, alert.flap_count = False, 0
    if alert.ticket is not None:
        tickets.record_system_event(actor=actor, ticket=alert.ticket, event="alert_stable", data={"reason": reason})


def _event(actor: Actor, alert: Alert, event: str, reason: str, **data: Any) -> None:
    assert alert.ticket is not None
    tickets.record_system_event(actor=actor, ticket=alert.ticket, event=event, data={**data, "reason": reason})


ALERT_FIELDS = ["last_seen_at", "updated_at", "last_payload", "severity", "summary", "labels", "count"]
STATE_FIELDS = ["status", "resolved_at", "last_flip_at", "flap_count", "is_flapping"]


def _firing(actor: Actor, source: AlertSource, alert: Alert, incoming: NormalisedAlert, now: datetime) -> AlertOutcome:
    fingerprint, window = incoming.fingerprint, _window(source)
    incident, was_flapping = _incident(alert), alert.is_flapping
    recovered_at = alert.resolved_at if alert.status == Alert.Status.RESOLVED else None
    if alert.is_flapping and _stable(source, alert, now):
        _end_damping(actor, alert, f"the alert kept one status for {source.flap_window_minutes} minutes")
    _remember(alert, incoming, now)
    if recovered_at is not None:
        alert.status, alert.resolved_at, alert.last_flip_at = Alert.Status.FIRING, None, now
    flapped = recovered_at is not None and now - recovered_at <= window
    # A repeat of an alert that keeps firing writes its counters only; a change of state writes the rest.
    fields = ALERT_FIELDS if recovered_at is None and not was_flapping else ALERT_FIELDS + STATE_FIELDS

    resolved = incident is not None and incident.status == TicketStatus.RESOLVED
    reopenable = (
        resolved and incident is not None and incident.resolved_at is not None and now - incident.resolved_at <= window
    )
    if incident is None or not (incident.is_open or reopenable):
        # No incident yet, or one an agent closed, or resolved longer ago than the flap window: a new one.
        alert.ticket = _open_incident(actor, source, incoming)
        alert.count, alert.first_seen_at, alert.flap_count, alert.is_flapping = 1, now, 0, False
        alert.save(update_fields=[*ALERT_FIELDS, *STATE_FIELDS, "first_seen_at", "ticket"])
        return AlertOutcome(fingerprint, Outcome.OPENED, alert.ticket.number)

    alert.count += 1
    if flapped:
        alert.flap_count += 1
    elif recovered_at is not None:
        alert.flap_count = 0  # it stayed recovered longer than a window: earlier flaps are history
    newly_flapping = flapped and not alert.is_flapping and 0 < source.flap_threshold <= alert.flap_count
    if resolved:
        if alert.is_flapping:
            alert.save(update_fields=fields)
            return AlertOutcome(fingerprint, Outcome.DAMPED, incident.number, "flapping: the incident stays resolved")
        minutes = int((now - (incident.resolved_at or now)).total_seconds() // 60)
        assert alert.ticket is not None
        alert.ticket = tickets.transition(
            actor=actor,
            ticket=alert.ticket,
            to_status=TicketStatus.IN_PROGRESS,
            reason=f"the alert is firing again {minutes} min after the incident was resolved",
        )
        outcome = Outcome.REOPENED
    else:
        outcome = Outcome.REPEATED
        if recovered_at is not None and not alert.is_flapping and not newly_flapping:
            # It was reported recovered (awaiting confirmation, or a damped resolve): it is not.
            _event(actor, alert, "alert_firing_again", "monitoring reports firing")
        elif _milestone(alert.count):
            _event(
                actor, alert, "alert_repeated", f"{alert.count:,} firing deliveries since it opened", count=alert.count
            )
    if newly_flapping:
        alert.is_flapping = True
        _event(
            actor,
            alert,
            "alert_flapping",
            f"{alert.flap_count} flaps; its status no longer follows the alert until the alert keeps one status "
            f"for {source.flap_window_minutes} minutes",
            flaps=alert.flap_count,
        )
    alert.save(update_fields=fields)
    return AlertOutcome(fingerprint, outcome, incident.number)


def _milestone(count: int) -> bool:
    """10, 100, 1,000...: the repeats worth a line on the timeline."""
    if count < 10:
        return False
    while count % 10 == 0:
        count //= 10
    return count == 1


def _resolved(
    actor: Actor, source: AlertSource, alert: Alert, incoming: NormalisedAlert, now: datetime
) -> AlertOutcome:
    fingerprint, incident = incoming.fingerprint, _incident(alert)
    number = incident.number if incident is not None else ""
    if alert.status == Alert.Status.RESOLVED:
        return AlertOutcome(fingerprint, Outcome.IGNORED, number, "already resolved")
    if alert.is_flapping and _stable(source, alert, now):
        _end_damping(actor, alert, f"the alert kept firing for {source.flap_window_minutes} minutes")
    _remember(alert, incoming, now)
    alert.status, alert.resolved_at, alert.last_flip_at = Alert.Status.RESOLVED, now, now
    alert.save(update_fields=[*ALERT_FIELDS, *STATE_FIELDS])
    if incident is None:
        return AlertOutcome(fingerprint, Outcome.IGNORED, reason="no incident was opened for it")
    if alert.is_flapping:
        return AlertOutcome(fingerprint, Outcome.DAMPED, number, "flapping: the incident stays open")
    return _recover(actor, source, alert, fingerprint)


def _recover(actor: Actor, source: AlertSource, alert: Alert, fingerprint: str) -> AlertOutcome:
    ticket = alert.ticket
    assert ticket is not None
    if ticket.status not in workflow.OPEN:
        return AlertOutcome(fingerprint, Outcome.IGNORED, ticket.number, f"{ticket.get_status_display()} already")
    if source.resolve_mode == AlertSource.ResolveMode.RECOVERED:
        _event(actor, alert, "alert_recovered", "monitoring reports resolved; confirm and resolve the incident")
        return AlertOutcome(fingerprint, Outcome.RECOVERED, ticket.number)
    tickets.transition(
        actor=actor,
        ticket=ticket,
        to_status=TicketStatus.RESOLVED,
        resolution_code=ResolutionCode.FIXED,
        resolution_notes=RESOLUTION_NOTES,
    )
    return AlertOutcome(fingerprint, Outcome.RESOLVED, ticket.number)


def _acknowledged(actor: Actor, source: AlertSource, alert: Alert, incoming: NormalisedAlert) -> AlertOutcome:
    incident = _incident(alert)
    if incident is None or not incident.is_open or alert.ticket is None:
        return AlertOutcome(
            incoming.fingerprint, Outcome.IGNORED, incident.number if incident else "", "no open incident to note it on"
        )
    tickets.add_note(
        actor=actor,
        ticket=alert.ticket,
        body=f"Acknowledged in {source.name}" + (f": {incoming.summary}" if incoming.summary else "."),
        data={"alert_fingerprint": incoming.fingerprint},
    )
    return AlertOutcome(incoming.fingerprint, Outcome.ACKNOWLEDGED, incident.number)


def settle_flapping(*, actor: Actor, source: AlertSource, limit: int = 50) -> int:
    """End the damping of this source's flapping alerts that kept one status for a whole window.

    Run after the source's deliveries, at most every 30 s per process (one indexed query when
    nothing is due): an alert that went quiet resolved gets its incident resolved here, by a later
    delivery of any of the source's alerts. A periodic task calling it would also cover a source
    that falls silent altogether.
    """
    due = clock.now() - _window(source)
    ids = list(
        Alert.objects.filter(source=source, is_flapping=True, last_flip_at__lte=due).values_list("pk", flat=True)[
            :limit
        ]
    )
    for pk in ids:
        with transaction.atomic():
            alert = Alert.objects.select_for_update(of=("self",)).filter(pk=pk).first()
            if alert is None or not alert.is_flapping or not _stable(source, alert, clock.now()):
                continue
            _end_damping(actor, alert, f"the alert kept one status for {source.flap_window_minutes} minutes")
            alert.save(update_fields=["is_flapping", "flap_count", "updated_at"])
            if alert.status == Alert.Status.RESOLVED and alert.ticket is not None:
                _recover(actor, source, alert, alert.fingerprint)
    return len(ids)


# --- a new incident -------------------------------------------------------------------------------------


def _title(incoming: NormalisedAlert) -> str:
    title = incoming.summary or incoming.labels.get("alertname") or f"Alert {incoming.fingerprint}"
    if incoming.host and incoming.host.lower() not in title.lower():
        title = f"{title} ({incoming.host})"
    return " ".join(title.split())[:MAX_TITLE]


def _description(source: AlertSource, incoming: NormalisedAlert) -> str:
    lines = [incoming.description.strip(), ""] if incoming.description.strip() else []
    lines.append(f"Alert from {source.name} ({source.get_kind_display()}), fingerprint `{incoming.fingerprint}`.")
    if incoming.severity:
        lines.append(f"Severity: {incoming.severity}")
    if incoming.starts_at is not None:
        lines.append(f"Firing since: {incoming.starts_at.isoformat()}")
    if incoming.labels:
        lines += ["", "Labels:", *(f"- {name}: {value}" for name, value in sorted(incoming.labels.items()))]
    return "\n".join(lines)


def _candidate_names(incoming: NormalisedAlert) -> list[str]:
    names = [incoming.host, *(incoming.labels.get(n, "") for n in ("instance", "host", "hostname"))]
    return list(dict.fromkeys(formats.strip_port(n) for n in names if n and n.strip()))


def matching_item(source: AlertSource, incoming: NormalisedAlert) -> ConfigurationItem | None:
    """The configuration item the alert is about: by name (host, instance or hostname without its port),
    else the item whose labels the alert's labels include (the most labels wins). The source's own
    organisation's items come before its provider's."""
    organisation = source.requester.organisation
    owners = [organisation.pk, organisation.root_provider_id]
    items = ConfigurationItem.objects.filter(organisation_id__in=owners, is_active=True).select_related("site")
    names = _candidate_names(incoming)
    if names:
        by_name = Q()
        for name in names:
            by_name |= Q(name__iexact=name)
        found = sorted(items.filter(by_name), key=lambda item: owners.index(item.organisation_id))
        if found:
            return found[0]
    if not incoming.labels:
        return None
    best: tuple[int, int] | None = None
    chosen = None
    for item in items.exclude(labels={}).only("pk", "organisation_id", "labels", "site", "name"):
        labels = item.labels if isinstance(item.labels, dict) else {}
        if labels and all(incoming.labels.get(str(k)) == str(v) for k, v in labels.items()):
            rank = (len(labels), -owners.index(item.organisation_id))
            if best is None or rank > best:
                best, chosen = rank, item
    return chosen


def _service_for(source: AlertSource, item: ConfigurationItem | None, name: str) -> BusinessService | None:
    offered = BusinessService.objects.offered_to(source.requester.organisation_id)
    if item is not None:
        service = offered.filter(items=item).order_by("name").first()
        if service is not None:
            return service
    return offered.filter(name__iexact=name.strip()).first() if name.strip() else None


def _open_incident(actor: Actor, source: AlertSource, incoming: NormalisedAlert) -> Ticket:
    requester = source.requester
    item = matching_item(source, incoming)
    service = _service_for(source, item, incoming.service)
    site = item.site if item is not None and item.site is not None else None
    if site is not None and site.organisation_id != requester.organisation_id:
        site = None  # a provider's item at the provider's site: the incident keeps the requester's site
    impact, urgency = impact_and_urgency(incoming.severity, source.severity_map)
    return tickets.open_ticket(
        actor=actor,
        requester=requester,
        title=_title(incoming),
        description=_description(source, incoming),
        ticket_type=TicketType.INCIDENT,
        channel=Channel.MONITORING,
        impact=impact,
        urgency=urgency,
        site=site,
        affected_service=service,
        affected_item=item,
        data={"alert_fingerprint": incoming.fingerprint, "source": source.name, "source_id": source.pk},
    )


# --- sources --------------------------------------------------------------------------------------------


def _require_admin(actor: Actor, provider_id: int) -> None:
    user = actor.user
    if user is None:
        return  # an operator's command
    if not user.is_agent_side or user.organisation_id != provider_id or not (user.is_staff or user.role == "admin"):
        raise PermissionDenied("Only the provider's admins may configure monitoring sources.")


def check_source_settings(*, kind: str, mapping: Any, severity_map: Any) -> list[str]:
    problems = [] if kind in AlertSource.Kind.values else [f"unknown kind {kind!r}"]
    if kind == AlertSource.Kind.GENERIC:
        problems += formats.check_mapping(mapping)
    elif mapping:
        problems.append("only a generic source reads a mapping")
    return problems + check_severity_map(severity_map)


def _new_token() -> tuple[str, str, str]:
    raw = TOKEN_PREFIX + token_secrets.token_urlsafe(32)
    return raw, raw[:10], hash_token(raw)


@transaction.atomic
def create_alert_source(
    *,
    actor: Actor,
    organisation: Organisation,
    name: str,
    kind: str,
    requester: Requester | None = None,
    signing_secret: str = "",
    mapping: dict[str, Any] | None = None,
    severity_map: dict[str, Any] | None = None,
    resolve_mode: str = AlertSource.ResolveMode.RESOLVE,
    flap_window_minutes: int = 30,
    flap_threshold: int = 3,
    is_active: bool = True,
) -> tuple[AlertSource, str]:
    """A monitoring source and its token (returned once, only its hash is kept).

    Without a requester, one named "Monitoring: <name>" is made in the organisation: incidents
    need a requester, and nobody should receive mail about every alert.
    """
    _require_admin(actor, organisation.root_provider_id)
    name = name.strip()
    if not name:
        raise DomainError("A monitoring source needs a name.")
    if AlertSource.objects.filter(organisation=organisation, name=name).exists():
        raise DomainError(f"{organisation.name} already has a monitoring source named {name}.")
    problems = check_source_settings(kind=kind, mapping=mapping or {}, severity_map=severity_map or {})
    if resolve_mode not in AlertSource.ResolveMode.values:
        problems.append(f"unknown resolve mode {resolve_mode!r}")
    if problems:
        raise DomainError("The source's settings are wrong: " + "; ".join(problems) + ".")
    if requester is None:
        requester = create_requester(actor=actor, organisation=organisation, name=f"Monitoring: {name}", system=True)
    elif requester.organisation_id != organisation.pk:
        raise DomainError("The requester must belong to the source's organisation.")
    raw, prefix, digest = _new_token()
    source = AlertSource(
        organisation=organisation,
        name=name,
        kind=kind,
        requester=requester,
        token_hash=digest,
        token_prefix=prefix,
        signing_secret_encrypted=secrets.encrypt(signing_secret.strip()),
        mapping=mapping or {},
        severity_map=severity_map or {},
        resolve_mode=resolve_mode,
        flap_window_minutes=flap_window_minutes,
        flap_threshold=flap_threshold,
        is_active=is_active,
    )
    check_lengths(source)
    source.save(force_insert=True)
    record_event(
        actor=actor,
        action="alert_source.created",
        obj=source,
        organisation_id=organisation.pk,
        after={
            "name": name,
            "kind": kind,
            "requester_id": requester.pk,
            "token_prefix": prefix,
            "signed": bool(signing_secret.strip()),
            "resolve_mode": resolve_mode,
        },
    )
    return source, raw


@transaction.atomic
def issue_alert_source_token(*, actor: Actor, source: AlertSource) -> str:
    """A new token for the source (the old one stops working at once). Returned once."""
    _require_admin(actor, source.organisation.root_provider_id)
    raw, prefix, digest = _new_token()
    AlertSource.objects.filter(pk=source.pk).update(token_hash=digest, token_prefix=prefix, updated_at=clock.now())
    source.token_hash, source.token_prefix = digest, prefix
    record_event(
        actor=actor,
        action="alert_source.token_issued",
        obj=source,
        organisation_id=source.organisation_id,
        after={"token_prefix": prefix},
    )
    return raw


@transaction.atomic
def set_alert_source_secret(*, actor: Actor, source: AlertSource, secret: str) -> AlertSource:
    """Store the HMAC signing secret, encrypted; the audit trail records that it changed, never the value."""
    _require_admin(actor, source.organisation.root_provider_id)
    encrypted = secrets.encrypt(secret.strip())
    AlertSource.objects.filter(pk=source.pk).update(signing_secret_encrypted=encrypted, updated_at=clock.now())
    source.signing_secret_encrypted = encrypted
    record_event(
        actor=actor,
        action="alert_source.secret_changed",
        obj=source,
        organisation_id=source.organisation_id,
        after={"signed": bool(secret.strip())},
    )
    return source
