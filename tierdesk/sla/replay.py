"""Replay of a real ServiceNow event log through Tierdesk's SLA engine.

The UCI "Incident management process enriched event log" (Amaral, Fantinato, Peres; CC BY 4.0)
records every update of 24,918 incidents of one ServiceNow instance, with the instance's own
verdict `made_sla`. Each incident is imported as a Tierdesk ticket with its recorded status,
priority and assignment-group history, its clocks are read from that history under the SLA
policy configured for the replay desk, and the outcome is set beside ServiceNow's flag.

The replay desk is a provider of its own ("UCI replay desk"), so imported history never shows
in a real desk's queues, and its clocks raise no alarms. Change its policy in the admin and
run the replay again: the tickets are kept, the clocks are read again under the new policy.
Replaying the same file twice gives identical results: the clocks are read at the log's last
moment, never at the wall clock's.
"""

from __future__ import annotations

import csv
import io
import logging
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import IO

from django.db import transaction

from tierdesk.accounts import services as accounts
from tierdesk.accounts.models import Requester, SupportGroup
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError
from tierdesk.sla import services as sla
from tierdesk.sla.clocks import ClockState
from tierdesk.sla.models import SlaClock, SlaPolicy, TargetKind
from tierdesk.tenancy import services as tenancy
from tierdesk.tenancy.choices import OrganisationKind
from tierdesk.tenancy.models import Organisation
from tierdesk.tickets import services as tickets
from tierdesk.tickets.choices import Channel, Level, TicketStatus
from tierdesk.tickets.models import Ticket

logger = logging.getLogger(__name__)

SOURCE = "ServiceNow event log (UCI #498, CC BY 4.0)"
MEMBER = "incident_event_log.csv"
TIME_FORMAT = "%d/%m/%Y %H:%M"  # the log's times carry no zone; read as UTC
NUMBER_PREFIX = "UCI"
BATCH = 500  # incidents per transaction: a crash loses at most one batch, which a rerun redoes

STATES = {
    "New": TicketStatus.NEW,
    "Active": TicketStatus.IN_PROGRESS,
    "Awaiting User Info": TicketStatus.PENDING_CUSTOMER,
    "Awaiting Evidence": TicketStatus.PENDING_CUSTOMER,
    "Awaiting Vendor": TicketStatus.PENDING_VENDOR,
    # Waiting on problem management: like engineering, another team holds the fix.
    "Awaiting Problem": TicketStatus.PENDING_ENGINEERING,
    "Resolved": TicketStatus.RESOLVED,
    "Closed": TicketStatus.CLOSED,
}
LEVELS = {"1": Level.HIGH, "2": Level.MEDIUM, "3": Level.LOW}
CHANNELS = {"Phone": Channel.PHONE, "Email": Channel.EMAIL, "Self service": Channel.PORTAL}

# The replay desk's policy when none is configured: resolution targets per priority on a
# 24x7 calendar, in the manner of ServiceNow's sample SLA definitions (an assumption: the
# instance's own definitions are not in the log).
DEFAULT_TARGETS: list[tuple[str, int | None, int, list[int]]] = [
    (TargetKind.RESOLUTION, 1, 8 * 60, []),
    (TargetKind.RESOLUTION, 2, 24 * 60, []),
    (TargetKind.RESOLUTION, 3, 72 * 60, []),
    (TargetKind.RESOLUTION, 4, 120 * 60, []),
]


@dataclass(frozen=True)
class SourceUpdate:
    at: datetime
    order: int  # sys_mod_count: the instance's own update counter
    state: str
    priority: int
    impact: str
    urgency: str
    group: str
    reopen_count: int
    made_sla: bool


@dataclass
class SourceIncident:
    number: str
    caller: str
    opened_at: datetime
    channel: str
    title: str
    updates: list[SourceUpdate] = field(default_factory=list)

    @property
    def made_sla(self) -> bool:
        """The instance's verdict as of its last update."""
        return self.updates[-1].made_sla


@dataclass
class Rejected:
    where: str
    reason: str


def open_event_log(path: Path) -> IO[str]:
    """The CSV, from the published zip or an unpacked file."""
    if path.suffix == ".zip":
        archive = zipfile.ZipFile(path)
        return io.TextIOWrapper(archive.open(MEMBER), encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def read_event_log(
    stream: IO[str], *, limit: int | None = None, rejected: list[Rejected] | None = None
) -> list[SourceIncident]:
    """The incidents of the log in file order, each with its updates ordered in time.

    A row that cannot be read is set aside with its reason; the rest of its incident stays.
    """
    rejected = rejected if rejected is not None else []
    incidents: dict[str, SourceIncident] = {}
    for line, row in enumerate(csv.DictReader(stream), start=2):
        number = (row.get("number") or "").strip()
        if limit is not None and number not in incidents and len(incidents) >= limit:
            break
        try:
            incident = incidents.get(number) or _incident(row)
            update = _update(row)
        except (KeyError, ValueError) as exc:
            rejected.append(Rejected(f"line {line} ({number or 'no number'})", f"unreadable: {exc}"))
            continue
        incidents.setdefault(number, incident)
        if update is None:
            rejected.append(Rejected(f"line {line} ({number})", f"unknown state {row['incident_state']!r}"))
            continue
        incident.updates.append(update)
    result = []
    for incident in incidents.values():
        if not incident.updates:
            rejected.append(Rejected(incident.number, "no readable update"))
            continue
        incident.updates.sort(key=lambda u: (u.at, u.order))
        result.append(incident)
    return result


def _time(value: str) -> datetime:
    return datetime.strptime(value.strip(), TIME_FORMAT).replace(tzinfo=UTC)


def _incident(row: dict[str, str]) -> SourceIncident:
    number = row["number"].strip()
    if not number.startswith("INC") or not number[3:].isdigit() or len(number) != 10:
        raise ValueError(f"not an incident number: {number!r}")
    parts = [row.get(name, "").strip() for name in ("category", "subcategory", "u_symptom")]
    return SourceIncident(
        number=number,
        caller=row["caller_id"].strip(),
        opened_at=_time(row["opened_at"]),
        channel=CHANNELS.get(row["contact_type"].strip(), Channel.PHONE),
        title=" / ".join(p for p in parts if p and p != "?") or number,
    )


def _level(value: str) -> str:
    return LEVELS[value.strip()[:1]]


def _update(row: dict[str, str]) -> SourceUpdate | None:
    state = STATES.get(row["incident_state"].strip())
    if state is None:
        return None
    return SourceUpdate(
        at=_time(row["sys_updated_at"]),
        order=int(row["sys_mod_count"]),
        state=state,
        priority=int(row["priority"].strip()[:1]),
        impact=_level(row["impact"]),
        urgency=_level(row["urgency"]),
        group=row["assignment_group"].strip(),
        reopen_count=int(row["reopen_count"]),
        made_sla=row["made_sla"].strip().lower() == "true",
    )


# --- the replay desk ---------------------------------------------------------------------


@dataclass
class ReplayDesk:
    provider: Organisation
    client: Organisation
    requesters: dict[str, Requester] = field(default_factory=dict)
    groups: dict[str, SupportGroup] = field(default_factory=dict)


REPLAY_ACTOR = Actor.system(via="replay")


@transaction.atomic
def replay_desk() -> ReplayDesk:
    """The provider, client and (if none is configured yet) policy that replays go into."""
    provider = Organisation.objects.filter(slug="uci-replay-desk").first() or tenancy.create_organisation(
        actor=REPLAY_ACTOR, name="UCI replay desk", slug="uci-replay-desk", kind=OrganisationKind.PROVIDER
    )
    client = Organisation.objects.filter(slug="uci-servicenow").first() or tenancy.create_organisation(
        actor=REPLAY_ACTOR, name="UCI ServiceNow instance", slug="uci-servicenow", provider=provider
    )
    if not SlaPolicy.objects.filter(organisation=provider).exists():
        calendar = sla.create_calendar(
            actor=REPLAY_ACTOR, provider=provider, name="24x7 (replay)", timezone="UTC", always_open=True
        )
        sla.create_policy(
            actor=REPLAY_ACTOR,
            provider=provider,
            name="ServiceNow-style resolution targets",
            calendar=calendar,
            targets=DEFAULT_TARGETS,
        )
    desk = ReplayDesk(provider, client)
    _forget_unsaved(desk)
    return desk


def _forget_unsaved(desk: ReplayDesk) -> None:
    desk.requesters = {r.name: r for r in Requester.objects.filter(organisation=desk.client)}
    desk.groups = {g.name: g for g in SupportGroup.objects.filter(organisation=desk.provider)}


def _requester(desk: ReplayDesk, caller: str) -> Requester:
    name = caller if caller and caller != "?" else "Unknown caller"
    if name not in desk.requesters:
        slug = "".join(ch for ch in name.lower() if ch.isalnum()) or "unknown"
        desk.requesters[name] = accounts.create_requester(
            actor=REPLAY_ACTOR, organisation=desk.client, name=name, email=f"{slug}@uci-replay.invalid"
        )
    return desk.requesters[name]


def _group(desk: ReplayDesk, name: str) -> SupportGroup | None:
    if not name or name == "?":
        return None
    label = f"UCI {name}"
    if label not in desk.groups:
        desk.groups[label] = accounts.create_support_group(
            actor=REPLAY_ACTOR, provider=desk.provider, name=label, tier=1, serves=[desk.client]
        )
    return desk.groups[label]


def historic_ticket(desk: ReplayDesk, incident: SourceIncident) -> tickets.HistoricTicket:
    """The incident as Tierdesk history: one change per moved status, priority or group."""
    updates = incident.updates
    opened_at = min(incident.opened_at, updates[0].at)
    changes: list[tickets.HistoricChange] = []
    first_response_at = opened_at if updates[0].state != TicketStatus.NEW else None
    resolved_at = closed_at = None
    for before, after in pairwise(updates):
        if after.state != before.state:
            changes.append(tickets.HistoricChange(after.at, "status", before.state, after.state))
            if first_response_at is None and before.state == TicketStatus.NEW:
                first_response_at = after.at
            if after.state == TicketStatus.RESOLVED:
                resolved_at = after.at
            if after.state == TicketStatus.CLOSED:
                closed_at = after.at
        if after.priority != before.priority:
            changes.append(tickets.HistoricChange(after.at, "priority", str(before.priority), str(after.priority)))
        if after.group != before.group:
            changes.append(tickets.HistoricChange(after.at, "support_group", before.group, after.group))
    last = updates[-1]
    if last.state == TicketStatus.CLOSED and resolved_at is None:
        resolved_at = closed_at  # closed without a recorded resolution: resolved when closed
    return tickets.HistoricTicket(
        number=NUMBER_PREFIX + incident.number[3:],
        title=incident.title,
        requester=_requester(desk, incident.caller),
        opened_at=opened_at,
        status=last.state,
        impact=last.impact,
        urgency=last.urgency,
        priority=last.priority,
        channel=incident.channel,
        support_group=_group(desk, last.group),
        first_response_at=first_response_at,
        resolved_at=resolved_at if last.state in (TicketStatus.RESOLVED, TicketStatus.CLOSED) else None,
        closed_at=closed_at if last.state == TicketStatus.CLOSED else None,
        reopen_count=last.reopen_count,
        source=SOURCE,
        changes=tuple(changes),
    )


# --- the replay and its report -------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    number: str
    priority: int
    made_sla: bool  # ServiceNow's verdict
    state: str  # Tierdesk's resolution clock: met, breached, running, paused, or "no target"
    elapsed_seconds: int | None
    target_seconds: int | None

    @property
    def decided(self) -> bool:
        return self.state in (ClockState.MET, ClockState.BREACHED)

    @property
    def agrees(self) -> bool:
        return self.decided and (self.state == ClockState.MET) == self.made_sla


@dataclass
class ReplayResult:
    imported: int
    already_there: int
    read_at: datetime | None
    outcomes: list[Outcome]
    rejected: list[Rejected]


def replay(
    incidents: list[SourceIncident],
    *,
    rejected: list[Rejected] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Import the incidents (once), read their clocks at the log's last moment, compare outcomes."""
    rejected = rejected if rejected is not None else []
    desk = replay_desk()
    read_at = max((u.at for i in incidents for u in i.updates), default=None)
    imported = already = 0
    numbers: list[tuple[SourceIncident, str]] = []
    for start in range(0, len(incidents), BATCH):
        with transaction.atomic():
            for incident in incidents[start : start + BATCH]:
                try:
                    with transaction.atomic():
                        record = historic_ticket(desk, incident)
                        ticket = tickets.import_ticket(actor=REPLAY_ACTOR, record=record)
                except DomainError as exc:
                    rejected.append(Rejected(incident.number, exc.detail))
                    _forget_unsaved(desk)  # what this incident created was rolled back with it
                    continue
                imported += ticket is not None
                already += ticket is None
                numbers.append((incident, record.number))
        if progress is not None:
            progress(min(start + BATCH, len(incidents)))
    ids = dict(Ticket.objects.filter(number__in=[n for _, n in numbers]).values_list("number", "pk"))
    for start in range(0, len(numbers), BATCH):
        with transaction.atomic():
            for _, number in numbers[start : start + BATCH]:
                sla.recompute_clocks(ids[number], now=read_at, historic=True)
    return ReplayResult(imported, already, read_at, _outcomes(numbers, ids), rejected)


def _outcomes(numbers: list[tuple[SourceIncident, str]], ids: dict[str, int]) -> list[Outcome]:
    clocks = {
        c.ticket_id: c
        for c in SlaClock.objects.filter(ticket_id__in=list(ids.values()), kind=TargetKind.RESOLUTION).only(
            "ticket_id", "state", "elapsed_seconds", "target_seconds"
        )
    }
    outcomes = []
    for incident, number in numbers:
        row = clocks.get(ids[number])
        outcomes.append(
            Outcome(
                number=number,
                priority=incident.updates[-1].priority,
                made_sla=incident.made_sla,
                state=row.state if row is not None and row.state != ClockState.CANCELLED else "no target",
                elapsed_seconds=row.elapsed_seconds if row is not None else None,
                target_seconds=row.target_seconds if row is not None else None,
            )
        )
    return outcomes


@dataclass(frozen=True)
class ComparisonRow:
    label: str
    incidents: int
    servicenow_made: int
    tierdesk_met: int
    tierdesk_breached: int
    tierdesk_open: int
    agree: int
    decided: int

    @property
    def agreement_percent(self) -> float | None:
        return round(100 * self.agree / self.decided, 1) if self.decided else None


def compare(outcomes: Iterable[Outcome]) -> list[ComparisonRow]:
    """Per priority and in total: ServiceNow's verdicts beside Tierdesk's resolution clocks."""
    by_priority: dict[str, list[Outcome]] = {}
    everything: list[Outcome] = []
    for outcome in outcomes:
        by_priority.setdefault(f"P{outcome.priority}", []).append(outcome)
        everything.append(outcome)
    rows = []
    for label, group in [*sorted(by_priority.items()), ("All", everything)]:
        states = Counter(o.state for o in group)
        rows.append(
            ComparisonRow(
                label=label,
                incidents=len(group),
                servicenow_made=sum(o.made_sla for o in group),
                tierdesk_met=states[ClockState.MET],
                tierdesk_breached=states[ClockState.BREACHED],
                tierdesk_open=len(group) - states[ClockState.MET] - states[ClockState.BREACHED],
                agree=sum(o.agrees for o in group),
                decided=sum(o.decided for o in group),
            )
        )
    return rows


def format_comparison(rows: list[ComparisonRow]) -> Iterator[str]:
    yield (
        f"{'':5} {'incidents':>9} {'SN made':>8} {'TD met':>7} {'TD breach':>9} {'TD open':>7} "
        f"{'agree':>6} {'agreement':>9}"
    )
    for r in rows:
        share = "-" if r.agreement_percent is None else f"{r.agreement_percent:.1f} %"
        yield (
            f"{r.label:5} {r.incidents:9d} {r.servicenow_made:8d} {r.tierdesk_met:7d} {r.tierdesk_breached:9d} "
            f"{r.tierdesk_open:7d} {r.agree:6d} {share:>9}"
        )


def outcomes_csv(outcomes: Iterable[Outcome], out: IO[str]) -> None:
    writer = csv.writer(out)
    writer.writerow(
        ["number", "priority", "servicenow_made_sla", "tierdesk_resolution", "elapsed_hours", "target_hours"]
    )
    for o in outcomes:
        writer.writerow(
            [
                o.number,
                o.priority,
                o.made_sla,
                o.state,
                "" if o.elapsed_seconds is None else round(o.elapsed_seconds / 3600, 2),
                "" if o.target_seconds is None else round(o.target_seconds / 3600, 2),
            ]
        )
