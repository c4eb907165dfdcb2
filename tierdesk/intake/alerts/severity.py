"""An alert's severity as the incident's impact and urgency (and so, through the matrix, its priority).

Each tool names severities its own way (Alertmanager and Grafana by a `severity` label, Zabbix
from "Not classified" to "Disaster", PagerDuty critical/error/warning/info); the defaults below
cover them, and a source's `severity_map` adds to them or overrides them. Names compare in lower case.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tierdesk.tickets.choices import Level

HIGH, MEDIUM, LOW = Level.HIGH.value, Level.MEDIUM.value, Level.LOW.value
UNKNOWN = "default"  # the key for a severity nobody mapped (or none at all)

DEFAULT_SEVERITY_MAP: dict[str, tuple[str, str]] = {
    "critical": (HIGH, HIGH),  # P1
    "disaster": (HIGH, HIGH),
    "emergency": (HIGH, HIGH),
    "fatal": (HIGH, HIGH),
    "page": (HIGH, HIGH),
    "error": (HIGH, MEDIUM),  # P2
    "major": (HIGH, MEDIUM),
    "high": (HIGH, MEDIUM),
    "average": (MEDIUM, MEDIUM),  # P3
    "warning": (MEDIUM, MEDIUM),
    "minor": (MEDIUM, LOW),  # P4
    "info": (LOW, LOW),  # P5
    "information": (LOW, LOW),
    "informational": (LOW, LOW),
    "low": (LOW, LOW),
    "not classified": (MEDIUM, MEDIUM),
    UNKNOWN: (MEDIUM, MEDIUM),
}


def check_severity_map(severity_map: Any) -> list[str]:
    """What is wrong with a source's severity map (empty when nothing is)."""
    if not isinstance(severity_map, dict):
        return ['the severity map must be a JSON object, e.g. {"critical": ["high", "high"]}']
    problems = []
    for name, levels in severity_map.items():
        if not (
            isinstance(levels, list | tuple) and len(levels) == 2 and all(level in Level.values for level in levels)
        ):
            problems.append(f"{name!r} must map to [impact, urgency], each high, medium or low")
    return problems


def impact_and_urgency(severity: str, severity_map: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """The incident's (impact, urgency) for an alert of this severity."""
    own = {str(name).strip().lower(): tuple(levels) for name, levels in (severity_map or {}).items()}
    name = severity.strip().lower() or UNKNOWN
    for table in (own, DEFAULT_SEVERITY_MAP):
        if name in table:
            impact, urgency = table[name]
            return str(impact), str(urgency)
    impact, urgency = own.get(UNKNOWN) or DEFAULT_SEVERITY_MAP[UNKNOWN]
    return str(impact), str(urgency)
