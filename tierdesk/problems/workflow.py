"""The problem status state machine: a pure transition table that services consult.

Tests enumerate every (from, to) pair, so what is legal is written once, here.
"""

from __future__ import annotations

from tierdesk.core.errors import DomainError, IllegalTransition
from tierdesk.problems.choices import ProblemStatus as S

OPEN = frozenset({S.NEW, S.INVESTIGATING, S.ROOT_CAUSE_KNOWN})
TERMINAL = frozenset({S.CLOSED})

TRANSITIONS: dict[str, frozenset[str]] = {
    # A problem may skip investigation when the root cause is clear from the start, and may be
    # closed from anywhere (a duplicate, or not worth pursuing).
    S.NEW: frozenset({S.INVESTIGATING, S.ROOT_CAUSE_KNOWN, S.CLOSED}),
    S.INVESTIGATING: frozenset({S.ROOT_CAUSE_KNOWN, S.RESOLVED, S.CLOSED}),
    # Back to investigating: the root cause found turned out to be wrong.
    S.ROOT_CAUSE_KNOWN: frozenset({S.INVESTIGATING, S.RESOLVED, S.CLOSED}),
    # Back to investigating: the incidents came back after the fix.
    S.RESOLVED: frozenset({S.INVESTIGATING, S.CLOSED}),
    S.CLOSED: frozenset(),
}

# Statuses that say the cause is understood: they need the root cause written down.
NEEDS_ROOT_CAUSE = frozenset({S.ROOT_CAUSE_KNOWN, S.RESOLVED})


def allowed_targets(status: str) -> list[str]:
    return sorted(TRANSITIONS[status], key=list(S.values).index)


def check_transition(current: str, target: str, *, root_cause: str) -> None:
    """Raise if moving from `current` to `target` is not allowed with this root cause."""
    if target not in TRANSITIONS:
        raise DomainError(f"Unknown problem status {target!r}.")
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(
            f"A problem cannot go from {S(current).label} to {S(target).label}.", allowed_targets(current)
        )
    if target in NEEDS_ROOT_CAUSE and not root_cause.strip():
        raise DomainError(f"{S(target).label} needs the root cause written down first.")
