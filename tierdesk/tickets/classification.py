"""What kind of ticket a new one is, decided before it is numbered (INC... or REQ...).

Routing's classification rules answer here at start-up (like the assignment checks in
assignment.py), so a ticket opened without an explicit type gets the type its rules give,
and its number carries the right prefix from the first moment.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tierdesk.tickets.models import Ticket

# A decider looks at the unsaved ticket and answers a ticket type, or None to leave it open.
TypeDecider = Callable[["Ticket"], "str | None"]

_deciders: list[TypeDecider] = []


def register(decider: TypeDecider) -> TypeDecider:
    if decider not in _deciders:
        _deciders.append(decider)
    return decider


def ticket_type_for(ticket: Ticket) -> str | None:
    for decider in _deciders:
        decided = decider(ticket)
        if decided:
            return decided
    return None
