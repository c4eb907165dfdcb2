"""Tier metrics: first-contact resolution, escalation, reassignment and time at each tier.

Read-only. Every figure is replayed from the tickets' field history as the ticket services
write it (`FieldChange`), so each can be checked ticket by ticket; the definitions and why
are in docs/decisions/0004-first-contact-resolution.md. Times are wall-clock.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from tierdesk.accounts.models import User
from tierdesk.accounts.scope import scope_for
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError
from tierdesk.tickets.choices import TicketStatus
from tierdesk.tickets.models import FieldChange, Ticket

TIERS = (1, 2, 3, 4)
# The field names and values as tickets.services records them (`_record_changes`, `transition`).
STATUS, TIER, GROUP, ASSIGNEE = "status", "tier", "support_group", "assignee"
DONE = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED})
NOT_WORKED = DONE | {TicketStatus.CANCELLED}
# Rows of one ticket by the same actor this close together were written by one service call.
ONE_WRITE = timedelta(seconds=1)


@dataclass(frozen=True)
class TierRow:
    tier: int
    tickets: int  # tickets that were at this tier at some point before their resolution
    escalated: int  # of those, how many moved from this tier to a higher one
    reassignments: int  # support-group changes made while at this tier
    seconds_at_tier: float  # wall-clock, while open, summed over those tickets
    resolved_here: int  # tickets at this tier when they were resolved
    resolved_percent: float | None  # resolved_here as a share of every resolved ticket

    @property
    def escalation_percent(self) -> float | None:
        return _percent(self.escalated, self.tickets)

    @property
    def reassignments_per_ticket(self) -> float | None:
        return round(self.reassignments / self.tickets, 2) if self.tickets else None

    @property
    def mean_hours_at_tier(self) -> float | None:
        return round(self.seconds_at_tier / self.tickets / 3600, 2) if self.tickets else None


@dataclass(frozen=True)
class TierMetrics:
    resolved: int  # the denominator: resolved tickets in the selection
    first_contact: int  # of those, resolved at first contact
    reassignments: int  # support-group changes away from a group, over all of them
    tiers: list[TierRow]

    @property
    def first_contact_percent(self) -> float | None:
        return _percent(self.first_contact, self.resolved)

    @property
    def reassignments_per_ticket(self) -> float | None:
        return round(self.reassignments / self.resolved, 2) if self.resolved else None


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@dataclass(frozen=True)
class _Change:
    field: str
    old: str
    new: str
    at: datetime
    actor_id: int | None
    actor_label: str


@dataclass
class _Path:
    """One ticket's way through the tiers, replayed from its history."""

    first_contact: bool = False
    resolved_at_tier: int = 1
    visited: set[int] = field(default_factory=set)
    escalated_from: set[int] = field(default_factory=set)
    reassignments: Counter[int] = field(default_factory=Counter)
    seconds: defaultdict[int, float] = field(default_factory=lambda: defaultdict(float))


def tier_metrics(
    actor: Actor,
    *,
    resolved_from: date | None = None,
    resolved_until: date | None = None,
    organisation_id: int | None = None,
) -> TierMetrics:
    """FCR and per-tier figures over the resolved tickets the actor sees in full."""
    if resolved_from and resolved_until and resolved_until < resolved_from:
        raise DomainError("The period ends before it starts.")
    tickets = resolved_tickets(
        actor, resolved_from=resolved_from, resolved_until=resolved_until, organisation_id=organisation_id
    )
    rows = list(
        tickets.values_list(
            "pk", "created_at", "tier", "assignee_id", "reopen_count", "resolved_on_first_contact", "resolved_at"
        )
    )
    if not rows:
        return _summarise([])
    history: dict[int, list[_Change]] = defaultdict(list)
    for ticket_id, name, old, new, at, actor_id, actor_label in (
        FieldChange.objects.filter(ticket_id__in=tickets.values("pk"), field__in=[STATUS, TIER, GROUP, ASSIGNEE])
        .order_by("ticket_id", "created_at", "id")
        .values_list("ticket_id", "field", "old_value", "new_value", "created_at", "actor_id", "actor_label")
    ):
        history[ticket_id].append(_Change(name, old, new, at, actor_id, actor_label))
    # Agents by the name the history records: resolvers, and assignees a ticket was opened with.
    changes = [change for ticket_changes in history.values() for change in ticket_changes]
    wanted = {c.actor_id for c in changes if c.field == STATUS and c.new in DONE and c.actor_id is not None}
    wanted |= {row[3] for row in rows if row[3] and not any(c.field == ASSIGNEE for c in history[row[0]])}
    names = {user.pk: str(user) for user in User.objects.filter(pk__in=wanted)} if wanted else {}
    paths = [
        _replay(
            history[pk],
            opened_at=created_at,
            tier=tier,
            assignee=names.get(assignee_id, "") if assignee_id else "",
            reopen_count=reopen_count,
            on_call=on_call,
            resolved_at=resolved_at,
            names=names,
        )
        for pk, created_at, tier, assignee_id, reopen_count, on_call, resolved_at in rows
    ]
    return _summarise(paths)


def resolved_tickets(
    actor: Actor,
    *,
    resolved_from: date | None = None,
    resolved_until: date | None = None,
    organisation_id: int | None = None,
) -> QuerySet[Ticket]:
    """The report's tickets: resolved or closed, of the organisations the actor sees in full."""
    # A plain IN beside visible_to's: with no page order to walk, the (organisation, status)
    # index is the way in, which SQLite may use only for this term (see core/lookups.py).
    tickets = (
        Ticket.objects.visible_to(actor)
        .filter(organisation_id__in=scope_for(actor).organisation_ids, status__in=DONE)
        .order_by()
    )
    zone = timezone.get_current_timezone()
    if resolved_from:
        tickets = tickets.filter(resolved_at__gte=datetime.combine(resolved_from, time(0), tzinfo=zone))
    if resolved_until:
        tickets = tickets.filter(resolved_at__lte=datetime.combine(resolved_until, time.max, tzinfo=zone))
    if organisation_id is not None:
        tickets = tickets.filter(organisation_id=organisation_id)
    return tickets


def _replay(
    changes: Sequence[_Change],
    *,
    opened_at: datetime,
    tier: int,
    assignee: str,
    reopen_count: int,
    on_call: bool,
    resolved_at: datetime | None,
    names: dict[int, str],
) -> _Path:
    """Walk one ticket's history from its opening to its final resolution."""
    resolving = _final_resolution(changes)
    worked = changes[: resolving + 1] if resolving is not None else changes
    # A field's value before its first change is that change's old value; unchanged, its value now.
    first_tier = next((c.old for c in changes if c.field == TIER), None)
    tier = opened_tier = int(first_tier) if first_tier else tier
    first_assignee = next((c.old for c in changes if c.field == ASSIGNEE), None)
    assignee = first_assignee if first_assignee is not None else assignee

    path = _Path(visited={tier})
    is_open, since = True, opened_at  # tickets open as new or assigned
    write_tier, previous = tier, None
    assignees = [assignee] if assignee else []
    for change in worked:
        if is_open:
            path.seconds[tier] += (change.at - since).total_seconds()
        since = change.at
        if not _same_write(previous, change):
            write_tier = tier  # the tier before this service call changed anything
        previous = change
        if change.field == TIER:
            new_tier = int(change.new or tier)
            if new_tier > tier:
                path.escalated_from.add(tier)
            tier = new_tier
            path.visited.add(tier)
        elif change.field == STATUS:
            is_open = change.new not in NOT_WORKED
        elif change.field == GROUP and change.old:
            path.reassignments[write_tier] += 1
        elif change.field == ASSIGNEE and change.new:
            assignees.append(change.new)
    if is_open and resolved_at is not None and resolved_at > since:
        path.seconds[tier] += (resolved_at - since).total_seconds()  # history without its resolution
    path.resolved_at_tier = tier

    resolver_id = worked[-1].actor_id if resolving is not None else None
    resolver = names.get(resolver_id) if resolver_id is not None else None
    contact = assignees[0] if assignees else (resolver if on_call else None)
    path.first_contact = (
        resolver is not None
        and contact == resolver
        and set(assignees) <= {contact}
        and opened_tier == 1
        and not any(c.field == TIER for c in worked)
        and not path.reassignments
        and reopen_count == 0
        and not any(c.field == STATUS and c.old in DONE and c.new not in NOT_WORKED for c in changes)
    )
    return path


def _final_resolution(changes: Sequence[_Change]) -> int | None:
    """Index of the last status change from an open status to resolved (or straight to closed)."""
    for index in range(len(changes) - 1, -1, -1):
        change = changes[index]
        if change.field == STATUS and change.new in DONE and change.old not in NOT_WORKED:
            return index
    return None


def _same_write(previous: _Change | None, change: _Change) -> bool:
    return (
        previous is not None
        and (previous.actor_id, previous.actor_label) == (change.actor_id, change.actor_label)
        and change.at - previous.at < ONE_WRITE
    )


def _summarise(paths: Iterable[_Path]) -> TierMetrics:
    paths = list(paths)
    resolved = len(paths)
    rows = []
    for tier in TIERS:
        here = [path for path in paths if tier in path.visited]
        resolved_here = sum(1 for path in paths if path.resolved_at_tier == tier)
        rows.append(
            TierRow(
                tier=tier,
                tickets=len(here),
                escalated=sum(1 for path in here if tier in path.escalated_from),
                reassignments=sum(path.reassignments[tier] for path in here),
                seconds_at_tier=sum(path.seconds[tier] for path in here),
                resolved_here=resolved_here,
                resolved_percent=_percent(resolved_here, resolved),
            )
        )
    return TierMetrics(
        resolved=resolved,
        first_contact=sum(1 for path in paths if path.first_contact),
        reassignments=sum(sum(path.reassignments.values()) for path in paths),
        tiers=rows,
    )
