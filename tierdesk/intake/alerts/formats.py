"""What a monitoring tool's webhook says, read into one shape: which alert, firing or resolved, how bad, where.

One parser per kind of source, each documented by its vendor:

- Prometheus Alertmanager, webhook v4: `alerts[]` with `status`, `labels`, `annotations`, `startsAt`
  and `fingerprint` (older releases send none: then the hash of the sorted labels, which is what
  Alertmanager's own fingerprint is made from). An alert without its own `status` takes the group's.
- Grafana unified alerting, webhook contact point: the same envelope, plus `valueString`/`values`.
- Zabbix, webhook media type: the parameter set of docs/integrations/zabbix.md (`event_value` 1 is
  a problem, 0 its recovery; the trigger id is the fingerprint, so a recurring problem is one alert).
- PagerDuty Events API v2: `event_action` trigger / acknowledge / resolve keyed by `dedup_key`.
  Acknowledge becomes a note; change events (no `event_action`) are ignored with the reason.
- Generic: any JSON, read with the JMESPath expressions of the source's mapping (MAPPING_KEYS).

Pure: no database. A body that cannot be read raises FormatError, answered 400 with its reason.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

FIRING, RESOLVED, ACKNOWLEDGED = "firing", "resolved", "acknowledged"
MAX_ALERTS = 1000  # per delivery: Alertmanager's own max_alerts is usually far lower
MAX_LABELS = 64
MAX_FINGERPRINT = 200
MAX_TEXT = 10_000
HOST_LABELS = ("host", "hostname", "instance", "nodename", "node")

# For the generic kind: what each expression reads, and what it reads when the mapping leaves it out.
MAPPING_KEYS: dict[str, str] = {
    "alerts": "",  # where the list of alerts is; empty: the whole body is one alert
    "fingerprint": "fingerprint",  # empty result: the hash of the labels
    "status": "status",  # empty result: firing
    "severity": "severity",
    "summary": "summary",
    "description": "description",
    "labels": "labels",
    "host": "host",
    "service": "service",
    "starts_at": "starts_at",
}
# Status words of the generic kind (compared in lower case); a mapping may give its own lists.
FIRING_WORDS = ("firing", "alerting", "problem", "trigger", "triggered", "open", "active", "down", "critical", "1")
RESOLVED_WORDS = ("resolved", "resolve", "ok", "recovered", "recovery", "closed", "normal", "up", "inactive", "0")
ACKNOWLEDGED_WORDS = ("acknowledged", "acknowledge", "ack")


class FormatError(ValueError):
    """The body cannot be read as this kind of source: answered 400 with the reason."""


@dataclass(frozen=True)
class NormalisedAlert:
    fingerprint: str
    status: str  # firing | resolved | acknowledged (PagerDuty, Zabbix: becomes a note, changes nothing)
    severity: str = ""
    summary: str = ""
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    host: str = ""  # as monitoring names it, without a :port
    service: str = ""  # a business service's name, when the tool says one
    starts_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Parsed:
    alerts: list[NormalisedAlert]
    ignored: list[str] = field(default_factory=list)  # what the body held that is no alert, and why


# --- helpers ------------------------------------------------------------------------------------------


def load(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise FormatError("the body is not JSON (send it as application/json, UTF-8)") from None
    if not isinstance(payload, dict):
        raise FormatError("the body is not a JSON object")
    return payload


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()[:limit]


def labels_of(value: Any) -> dict[str, str]:
    """Labels as names and text values: a JSON object, or Zabbix-style [{"tag": .., "value": ..}]."""
    if isinstance(value, str) and value.strip().startswith(("{", "[")):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    pairs: Iterable[tuple[Any, Any]]
    if isinstance(value, dict):
        pairs = value.items()
    elif isinstance(value, list):
        pairs = [(i.get("tag", i.get("name")), i.get("value", "")) for i in value if isinstance(i, dict)]
    else:
        return {}
    labels: dict[str, str] = {}
    for name, text in pairs:
        if isinstance(name, str) and name.strip() and len(labels) < MAX_LABELS:
            labels[name.strip()[:100]] = _text(text, 500)
    return labels


def strip_port(host: str) -> str:
    """`10.0.0.1:9100` -> `10.0.0.1`, `[::1]:9100` -> `::1`, `core-sw-01` unchanged."""
    host = host.strip()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    name, sep, port = host.rpartition(":")
    return name if sep and port.isdigit() and ":" not in name else host


def host_of(labels: Mapping[str, str]) -> str:
    for name in HOST_LABELS:
        if labels.get(name):
            return strip_port(labels[name])
    return ""


def labels_fingerprint(labels: Mapping[str, str]) -> str:
    """Stable across deliveries and senders: the hash of the sorted label set."""
    canonical = json.dumps(sorted(labels.items()), separators=(",", ":"), ensure_ascii=False)
    return "labels:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def _fingerprint(value: Any, labels: Mapping[str, str], what: str) -> str:
    given = _text(value, 10_000)
    if given:
        # A long key is hashed rather than cut, so two long keys sharing a prefix stay apart.
        return given if len(given) <= MAX_FINGERPRINT else "sha256:" + hashlib.sha256(given.encode()).hexdigest()
    if labels:
        return labels_fingerprint(labels)
    raise FormatError(f"{what} has neither a fingerprint nor labels to make one from")


def _time(value: Any) -> datetime | None:
    text = _text(value, 64)
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    return None if at.year <= 1 or at.tzinfo is None else at  # Go's zero time means "not set"


def _status(value: Any, fallback: str, what: str) -> str:
    status = _text(value, 40).lower() or fallback
    if status not in (FIRING, RESOLVED):
        raise FormatError(f"{what} has status {status!r}; expected firing or resolved")
    return status


# --- Alertmanager and Grafana ---------------------------------------------------------------------------


def _prometheus_style(payload: dict[str, Any], vendor: str) -> Parsed:
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        raise FormatError(f"a {vendor} webhook needs an 'alerts' list")
    if len(alerts) > MAX_ALERTS:
        raise FormatError(f"{len(alerts)} alerts in one delivery; at most {MAX_ALERTS}")
    group_status = _text(payload.get("status"), 40).lower()
    common = labels_of(payload.get("commonLabels"))
    parsed: list[NormalisedAlert] = []
    for n, item in enumerate(alerts, start=1):
        if not isinstance(item, dict):
            raise FormatError(f"alert {n} is not a JSON object")
        what = f"alert {n}"
        labels = {**common, **labels_of(item.get("labels"))}
        annotations = labels_of(item.get("annotations"))
        description = annotations.get("description") or annotations.get("message", "")
        value = _text(item.get("valueString"), 2000)
        if value:
            description = f"{description}\n\nValues: {value}".strip()
        parsed.append(
            NormalisedAlert(
                fingerprint=_fingerprint(item.get("fingerprint"), labels_of(item.get("labels")) or labels, what),
                status=_status(item.get("status"), group_status, what),
                severity=labels.get("severity", ""),
                summary=annotations.get("summary") or annotations.get("title") or labels.get("alertname", ""),
                description=description,
                labels=labels,
                host=host_of(labels),
                service=labels.get("service", ""),
                starts_at=_time(item.get("startsAt")),
                raw=item,
            )
        )
    return Parsed(parsed)


def alertmanager(payload: dict[str, Any]) -> Parsed:
    return _prometheus_style(payload, "Alertmanager")


def grafana(payload: dict[str, Any]) -> Parsed:
    return _prometheus_style(payload, "Grafana")


# --- Zabbix ----------------------------------------------------------------------------------------------

_UNRESOLVED_MACRO = re.compile(r"^\{[A-Z0-9_.]+\}$")  # Zabbix leaves a macro as is when it has no value
_ZABBIX_SEVERITY = {
    "0": "not classified",
    "1": "information",
    "2": "warning",
    "3": "average",
    "4": "high",
    "5": "disaster",
}


def _zabbix_value(payload: Mapping[str, Any], name: str, limit: int = MAX_TEXT) -> str:
    text = _text(payload.get(name), limit)
    return "" if _UNRESOLVED_MACRO.match(text) else text


def zabbix(payload: dict[str, Any]) -> Parsed:
    trigger = _zabbix_value(payload, "trigger_id", 100)
    event = _zabbix_value(payload, "event_id", 100)
    if not trigger and not event:
        raise FormatError("a Zabbix alert needs trigger_id (or event_id): see docs/integrations/zabbix.md")
    value = _zabbix_value(payload, "event_value", 10)
    if _zabbix_value(payload, "event_update_status", 10) == "1":
        status = ACKNOWLEDGED  # a problem update (acknowledged, commented): a note, nothing changes
    elif value == "1":
        status = FIRING
    elif value == "0":
        status = RESOLVED
    else:
        raise FormatError(f"a Zabbix alert needs event_value 1 (problem) or 0 (recovery), not {value!r}")
    labels = labels_of(payload.get("event_tags"))
    host = _zabbix_value(payload, "host", 200)
    for name in ("host", "host_name", "host_ip", "event_id", "trigger_id"):
        if _zabbix_value(payload, name, 200):
            labels.setdefault(name, _zabbix_value(payload, name, 200))
    severity = _zabbix_value(payload, "severity", 40)
    name = _zabbix_value(payload, "trigger_name", 250) or _zabbix_value(payload, "event_name", 250)
    return Parsed(
        [
            NormalisedAlert(
                # The trigger, not the event: a problem that recurs is the same alert (counted, flap-damped).
                fingerprint=f"zabbix:trigger:{trigger}" if trigger else f"zabbix:event:{event}",
                status=status,
                severity=_ZABBIX_SEVERITY.get(severity, severity),
                summary=name,
                description=_zabbix_value(payload, "trigger_description")
                or _zabbix_value(payload, "event_opdata")
                or _zabbix_value(payload, "message"),
                labels=labels,
                host=strip_port(host or _zabbix_value(payload, "host_name", 200)),
                service=labels.get("service", ""),
                starts_at=None,
                raw=payload,
            )
        ]
    )


# --- PagerDuty Events API v2 ----------------------------------------------------------------------------

_PAGERDUTY_ACTIONS = {"trigger": FIRING, "resolve": RESOLVED, "acknowledge": ACKNOWLEDGED}


def pagerduty(payload: dict[str, Any]) -> Parsed:
    if "messages" in payload or isinstance(payload.get("event"), dict):
        raise FormatError(
            "this is a webhook PagerDuty sends about its own incidents, not an Events API v2 event: "
            "point the monitoring tool's PagerDuty integration here instead"
        )
    action = _text(payload.get("event_action"), 40).lower()
    details = _object(payload.get("payload"))
    if not action:
        if details:
            return Parsed([], ignored=[f"a change event ({_text(details.get('summary'), 120)!r}) opens nothing"])
        raise FormatError("a PagerDuty event needs event_action: trigger, acknowledge or resolve")
    if action not in _PAGERDUTY_ACTIONS:
        raise FormatError(f"event_action {action!r} is not trigger, acknowledge or resolve")
    dedup_key = _text(payload.get("dedup_key"), 10_000)
    if action == "trigger":
        missing = [name for name in ("summary", "source", "severity") if not _text(details.get(name))]
        if missing:
            raise FormatError(f"a trigger event needs payload.{', payload.'.join(missing)}")
    elif not dedup_key:
        raise FormatError(f"a {action} event needs the dedup_key of the alert it {action}s")
    labels = {
        name: _text(details.get(name), 500)
        for name in ("source", "component", "group", "class")
        if _text(details.get(name), 500)
    }
    for name, value in _object(details.get("custom_details")).items():
        if isinstance(value, str | int | float | bool) and len(labels) < MAX_LABELS:
            labels.setdefault(str(name)[:100], _text(value, 500))
    # Without a dedup_key PagerDuty makes one up; ours is stable, so a repeat still finds its alert.
    key = dedup_key or labels_fingerprint({"summary": _text(details.get("summary")), **labels})
    return Parsed(
        [
            NormalisedAlert(
                fingerprint=_fingerprint(key, labels, "the event"),
                status=_PAGERDUTY_ACTIONS[action],
                severity=_text(details.get("severity"), 40),
                summary=_text(details.get("summary"), 1024),
                description="",
                labels=labels,
                host=strip_port(_text(details.get("source"), 200)),
                service=_text(details.get("component"), 120),
                starts_at=_time(details.get("timestamp")),
                raw=payload,
            )
        ]
    )


# --- generic (JMESPath) ---------------------------------------------------------------------------------


def check_mapping(mapping: Any) -> list[str]:
    """What is wrong with a generic source's mapping (empty when nothing is)."""
    if not isinstance(mapping, dict):
        return ["the mapping must be a JSON object"]
    problems = []
    for name, value in mapping.items():
        if name in ("firing_values", "resolved_values"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                problems.append(f"{name} must be a list of words")
        elif name not in MAPPING_KEYS:
            problems.append(f"unknown key {name!r} (known: {', '.join([*MAPPING_KEYS, 'firing_values'])}, ...)")
        elif not isinstance(value, str):
            problems.append(f"{name} must be a JMESPath expression (text)")
        elif value.strip():
            try:
                jmespath.compile(value)
            except JMESPathError as exc:
                problems.append(f"{name}: {value!r} is not a JMESPath expression ({exc})")
    return problems


def _search(mapping: Mapping[str, Any], name: str, data: Any) -> Any:
    expression = mapping.get(name, MAPPING_KEYS[name])
    if not expression:
        return None
    try:
        return jmespath.search(expression, data)
    except JMESPathError as exc:
        raise FormatError(f"the source's {name} expression {expression!r} fails: {exc}") from None


def _generic_status(value: Any, mapping: Mapping[str, Any], what: str) -> str:
    word = _text(value, 40).lower()
    if not word:
        return FIRING  # a tool that only ever sends problems
    firing = [w.lower() for w in mapping.get("firing_values") or FIRING_WORDS]
    resolved = [w.lower() for w in mapping.get("resolved_values") or RESOLVED_WORDS]
    if word in firing:
        return FIRING
    if word in resolved:
        return RESOLVED
    if word in ACKNOWLEDGED_WORDS:
        return ACKNOWLEDGED
    raise FormatError(
        f"{what} has status {word!r}, which the mapping reads as neither firing ({', '.join(firing)}) "
        f"nor resolved ({', '.join(resolved)})"
    )


def generic(payload: dict[str, Any], mapping: Mapping[str, Any]) -> Parsed:
    problems = check_mapping(dict(mapping))
    if problems:
        raise FormatError("the source's mapping is wrong: " + "; ".join(problems))
    items: Any = _search(mapping, "alerts", payload) if mapping.get("alerts") else payload
    if items is None:
        raise FormatError(f"the alerts expression {mapping.get('alerts')!r} found nothing in the body")
    items = items if isinstance(items, list) else [items]
    if len(items) > MAX_ALERTS:
        raise FormatError(f"{len(items)} alerts in one delivery; at most {MAX_ALERTS}")
    parsed: list[NormalisedAlert] = []
    for n, item in enumerate(items, start=1):
        what = f"alert {n}"
        if not isinstance(item, dict):
            raise FormatError(f"{what} is not a JSON object")
        labels = labels_of(_search(mapping, "labels", item))
        host = _text(_search(mapping, "host", item), 200)
        parsed.append(
            NormalisedAlert(
                fingerprint=_fingerprint(_search(mapping, "fingerprint", item), labels, what),
                status=_generic_status(_search(mapping, "status", item), mapping, what),
                severity=_text(_search(mapping, "severity", item), 40),
                summary=_text(_search(mapping, "summary", item), 1024),
                description=_text(_search(mapping, "description", item)),
                labels=labels,
                host=strip_port(host) if host else host_of(labels),
                service=_text(_search(mapping, "service", item), 120) or labels.get("service", ""),
                starts_at=_time(_search(mapping, "starts_at", item)),
                raw=item,
            )
        )
    return Parsed(parsed)


# --- entry point ----------------------------------------------------------------------------------------


def parse(kind: str, body: bytes, mapping: Mapping[str, Any] | None = None) -> Parsed:
    """The alerts a delivery of this kind of source holds. Raises FormatError with the reason."""
    payload = load(body)
    if kind == "alertmanager":
        return alertmanager(payload)
    if kind == "grafana":
        return grafana(payload)
    if kind == "zabbix":
        return zabbix(payload)
    if kind == "pagerduty":
        return pagerduty(payload)
    if kind == "generic":
        return generic(payload, mapping or {})
    raise FormatError(f"unknown kind of source {kind!r}")
