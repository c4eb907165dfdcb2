"""Who may be given a ticket: the checks every assignment passes, whoever makes it.

The rules themselves (availability, shifts, capacity, training for regulated systems) live
with routing, above this app; routing registers them here when Django starts, so a manual
assignment in the console or the API and routing's own choice obey the same rules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tierdesk.accounts.models import User
    from tierdesk.tickets.models import Ticket

# A check answers why the agent may not take the ticket, or None when they may.
AssignmentCheck = Callable[["Ticket", "User"], "str | None"]

_checks: list[AssignmentCheck] = []


def register(check: AssignmentCheck) -> AssignmentCheck:
    if check not in _checks:
        _checks.append(check)
    return check


def refusals(ticket: Ticket, agent: User) -> list[str]:
    """Every reason the agent may not take the ticket; empty when they may."""
    return [reason for check in _checks if (reason := check(ticket, agent))]


# A hold answers why nobody should work on the ticket yet (so routing leaves it out of every
# group's queue), or None. Apps above this one register theirs, e.g. a pending approval.
Hold = Callable[["Ticket"], "str | None"]

_holds: list[Hold] = []


def register_hold(hold: Hold) -> Hold:
    if hold not in _holds:
        _holds.append(hold)
    return hold


def holds(ticket: Ticket) -> list[str]:
    """Every reason the ticket is held back from the queues; empty when it may be routed."""
    return [reason for hold in _holds if (reason := hold(ticket))]
