"""SLA compliance: how many response and resolution targets were met, by any mix of dimensions.

Read-only. Figures come from the stored clocks, whose elapsed time is business time on the
policy's calendar, so the means are business time too. Only decided clocks count: met, or
breached (a breach counts as soon as it happens, even while the ticket is still open).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from django.db.models import Avg, Count, F, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone

from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError
from tierdesk.sla.clocks import ClockState
from tierdesk.sla.models import SlaClock, TargetKind
from tierdesk.tickets.choices import Priority

# Dimension name -> (the value's expression, what the reader sees).
DIMENSIONS: dict[str, tuple[Any, str]] = {
    "organisation": (F("ticket__organisation__name"), "Client organisation"),
    "contract": (F("policy__name"), "Contract (SLA policy)"),
    "priority": (F("ticket__priority"), "Priority"),
    "group": (F("ticket__support_group__name"), "Support group"),
    "tier": (F("ticket__tier"), "Tier"),
    "month": (TruncMonth("ticket__created_at"), "Month opened"),
}
DEFAULT_GROUPING = ("organisation", "month")
RESPONSE, RESOLUTION = TargetKind.FIRST_RESPONSE, TargetKind.RESOLUTION


@dataclass(frozen=True)
class ComplianceRow:
    keys: dict[str, Any]
    response_total: int
    response_met: int
    resolution_total: int
    resolution_met: int
    breaches: int
    mean_response_seconds: float | None
    mean_resolution_seconds: float | None

    @property
    def response_percent(self) -> float | None:
        return _percent(self.response_met, self.response_total)

    @property
    def resolution_percent(self) -> float | None:
        return _percent(self.resolution_met, self.resolution_total)


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def parse_grouping(raw: Iterable[str]) -> tuple[str, ...]:
    """Dimension names from a form or query string ("organisation,month"); unknown ones are refused."""
    names = [name.strip() for value in raw for name in value.split(",") if name.strip()]
    unknown = sorted(set(names) - set(DIMENSIONS))
    if unknown:
        raise DomainError(f"Unknown grouping {', '.join(unknown)}; use any of {', '.join(DIMENSIONS)}.")
    return tuple(dict.fromkeys(names)) or DEFAULT_GROUPING


def sla_compliance(
    actor: Actor,
    *,
    grouping: Sequence[str] = DEFAULT_GROUPING,
    opened_from: date | None = None,
    opened_until: date | None = None,
    organisation_id: int | None = None,
) -> list[ComplianceRow]:
    """One row per combination of the grouping's values, over the tickets the actor sees."""
    if opened_from and opened_until and opened_until < opened_from:
        raise DomainError("The period ends before it starts.")
    clocks: QuerySet[SlaClock] = SlaClock.objects.visible_to(actor).filter(
        kind__in=[RESPONSE, RESOLUTION], state__in=[ClockState.MET, ClockState.BREACHED]
    )
    zone = timezone.get_current_timezone()
    if opened_from:
        clocks = clocks.filter(ticket__created_at__gte=datetime.combine(opened_from, time(0), tzinfo=zone))
    if opened_until:
        clocks = clocks.filter(ticket__created_at__lt=datetime.combine(opened_until, time.max, tzinfo=zone))
    if organisation_id is not None:
        clocks = clocks.filter(organisation_id=organisation_id)
    stopped = Q(stopped_at__isnull=False)
    aggregated = (
        clocks.values(**{f"d_{name}": DIMENSIONS[name][0] for name in grouping})
        .annotate(
            response_total=Count("pk", filter=Q(kind=RESPONSE)),
            response_met=Count("pk", filter=Q(kind=RESPONSE, state=ClockState.MET)),
            resolution_total=Count("pk", filter=Q(kind=RESOLUTION)),
            resolution_met=Count("pk", filter=Q(kind=RESOLUTION, state=ClockState.MET)),
            breaches=Count("pk", filter=Q(state=ClockState.BREACHED)),
            mean_response=Avg("elapsed_seconds", filter=Q(kind=RESPONSE) & stopped),
            mean_resolution=Avg("elapsed_seconds", filter=Q(kind=RESOLUTION) & stopped),
        )
        .order_by(*(f"d_{name}" for name in grouping))
    )
    return [
        ComplianceRow(
            keys={name: _readable(name, row[f"d_{name}"]) for name in grouping},
            response_total=row["response_total"],
            response_met=row["response_met"],
            resolution_total=row["resolution_total"],
            resolution_met=row["resolution_met"],
            breaches=row["breaches"],
            mean_response_seconds=row["mean_response"],
            mean_resolution_seconds=row["mean_resolution"],
        )
        for row in aggregated
    ]


def _readable(name: str, value: Any) -> Any:
    if value is None:
        return "(none)"
    if name == "month":
        return value.strftime("%Y-%m")
    if name == "priority":
        return Priority(value).label
    if name == "tier":
        return f"Tier {value}"
    return value


CSV_COLUMNS = (
    "response_total",
    "response_met",
    "response_percent",
    "resolution_total",
    "resolution_met",
    "resolution_percent",
    "breaches",
    "mean_response_minutes",
    "mean_resolution_minutes",
)


def as_csv(rows: Iterable[ComplianceRow], grouping: Sequence[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*grouping, *CSV_COLUMNS])
    for row in rows:
        writer.writerow(
            [
                *(_safe_cell(row.keys[name]) for name in grouping),
                row.response_total,
                row.response_met,
                _blank(row.response_percent),
                row.resolution_total,
                row.resolution_met,
                _blank(row.resolution_percent),
                row.breaches,
                _blank(_minutes(row.mean_response_seconds)),
                _blank(_minutes(row.mean_resolution_seconds)),
            ]
        )
    return out.getvalue()


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def _blank(value: float | None) -> str:
    return "" if value is None else str(value)


def _safe_cell(value: Any) -> str:
    # Names come from admins and clients; a leading = + - @ would run as a spreadsheet formula.
    text = str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
