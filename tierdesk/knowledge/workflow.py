"""The article status state machine: a pure transition table that services consult."""

from __future__ import annotations

from tierdesk.core.errors import DomainError, IllegalTransition
from tierdesk.knowledge.choices import ArticleStatus as S

TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.PUBLISHED, S.RETIRED}),
    # Back to draft: pulled for rework without telling readers it is obsolete.
    S.PUBLISHED: frozenset({S.DRAFT, S.RETIRED}),
    # Retired articles may come back (the old Outlook version is still in use somewhere).
    S.RETIRED: frozenset({S.DRAFT, S.PUBLISHED}),
}


def check_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS:
        raise DomainError(f"Unknown article status {target!r}.")
    if target not in TRANSITIONS[current]:
        allowed = sorted(TRANSITIONS[current], key=list(S.values).index)
        raise IllegalTransition(f"An article cannot go from {S(current).label} to {S(target).label}.", allowed)
