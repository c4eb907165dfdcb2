"""The ticket status state machine: a pure transition table that services consult.

Tests enumerate every (from, to) pair of this table, so what is legal is written once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tierdesk.core.errors import DomainError, IllegalTransition
from tierdesk.tickets.choices import TicketStatus as S

PENDING = frozenset({S.PENDING_CUSTOMER, S.PENDING_VENDOR, S.PENDING_ENGINEERING})
OPEN = frozenset({S.NEW, S.ASSIGNED, S.IN_PROGRESS, *PENDING})
TERMINAL = frozenset({S.CLOSED, S.CANCELLED})

# New <-> Assigned is not a transition one asks for: it follows the assignee, set by the
# assign service, so a ticket is never "Assigned" to nobody.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.IN_PROGRESS, *PENDING, S.RESOLVED, S.CANCELLED}),
    S.ASSIGNED: frozenset({S.IN_PROGRESS, *PENDING, S.RESOLVED, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({*PENDING, S.RESOLVED, S.CANCELLED}),
    S.PENDING_CUSTOMER: frozenset({S.IN_PROGRESS, S.PENDING_VENDOR, S.PENDING_ENGINEERING, S.RESOLVED, S.CANCELLED}),
    S.PENDING_VENDOR: frozenset({S.IN_PROGRESS, S.PENDING_CUSTOMER, S.PENDING_ENGINEERING, S.RESOLVED, S.CANCELLED}),
    S.PENDING_ENGINEERING: frozenset({S.IN_PROGRESS, S.PENDING_CUSTOMER, S.PENDING_VENDOR, S.RESOLVED, S.CANCELLED}),
    # Reopening goes back to work; closing confirms the resolution.
    S.RESOLVED: frozenset({S.IN_PROGRESS, S.CLOSED}),
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
}


def allowed_targets(status: str) -> list[str]:
    return sorted(TRANSITIONS[status], key=list(S.values).index)


def is_reopen(current: str, target: str) -> bool:
    return current == S.RESOLVED and target == S.IN_PROGRESS


def check_transition(
    current: str,
    target: str,
    *,
    resolution_code: str,
    resolution_notes: str,
    resolved_at: datetime | None,
    now: datetime,
    reopen_window: timedelta,
) -> None:
    """Raise if moving from `current` to `target` is not allowed with these facts."""
    if target not in TRANSITIONS:
        raise DomainError(f"Unknown status {target!r}.")
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(
            f"A ticket cannot go from {S(current).label} to {S(target).label}.", allowed_targets(current)
        )
    if target == S.RESOLVED and (not resolution_code or not resolution_notes.strip()):
        raise DomainError("Resolving needs a resolution code and resolution notes.")
    if is_reopen(current, target) and resolved_at is not None and now - resolved_at > reopen_window:
        raise IllegalTransition(
            f"The reopen window of {reopen_window.days} days after resolution has passed; open a new ticket.",
            [S.CLOSED],
        )
