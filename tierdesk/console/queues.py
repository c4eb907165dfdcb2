"""The console's queues: named slices of what an agent may see, their counts and sort orders.

Every queue starts from `Ticket.objects.visible_to(actor)`; the FilterSet the API uses then
narrows it further, so a saved view is just a query string.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import OrderBy

from tierdesk.accounts.models import SupportGroup
from tierdesk.core.actor import Actor
from tierdesk.sla.clocks import ClockState
from tierdesk.sla.models import SlaClock
from tierdesk.tickets import workflow
from tierdesk.tickets.choices import TicketStatus
from tierdesk.tickets.models import Ticket
from tierdesk.tickets.querysets import TicketQuerySet

# Statuses in which the desk is working on a ticket: the SLA clock would be running.
WORKING = frozenset({TicketStatus.NEW, TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS})


@dataclass(frozen=True)
class Queue:
    key: str
    label: str
    default_sort: str
    counted: bool = True


QUEUES: tuple[Queue, ...] = (
    Queue("mine", "My open tickets", "-updated"),
    Queue("groups", "My groups", "-created"),
    Queue("unassigned", "Unassigned", "-created"),
    Queue("tier1", "Tier 1", "-created"),
    Queue("tier2", "Tier 2", "-created"),
    Queue("tier3", "Tier 3", "-created"),
    Queue("tier4", "Tier 4", "-created"),
    Queue("pending", "Pending", "-updated"),
    # The earliest SLA due time first; tickets without a running clock follow by priority and age.
    Queue("breaching", "Breaching soon", "due"),
    Queue("all", "All tickets", "-created", counted=False),
)
BY_KEY = {queue.key: queue for queue in QUEUES}
DEFAULT_QUEUE = "mine"

# Sort keys offered in the console (a leading "-" reverses); each ends on a unique column.
SORTS: dict[str, tuple[str, ...]] = {
    "number": ("number",),
    "priority": ("priority", "created_at", "id"),
    "due": ("next_due", "priority", "created_at", "id"),
    "status": ("status", "-created_at", "-id"),
    "created": ("created_at", "id"),
    "updated": ("updated_at", "id"),
}


def get_queue(key: str | None) -> Queue:
    return BY_KEY.get(key or "", BY_KEY[DEFAULT_QUEUE])


def order_for(sort: str) -> tuple[str | OrderBy, ...] | None:
    """The ORDER BY of a sort key such as "-created", or None when the key is unknown."""
    fields = SORTS.get(sort.removeprefix("-"))
    if fields is None:
        return None
    if sort.startswith("-"):
        fields = tuple(name[1:] if name.startswith("-") else f"-{name}" for name in fields)
    # Tickets without a due time go last either way (SQLite would put NULLs first).
    return tuple(_nulls_last(name) if name.lstrip("-") == "next_due" else name for name in fields)


def _nulls_last(name: str) -> OrderBy:
    column = F(name.lstrip("-"))
    return column.desc(nulls_last=True) if name.startswith("-") else column.asc(nulls_last=True)


def _my_groups(actor: Actor) -> QuerySet[SupportGroup]:
    return SupportGroup.objects.visible_to(actor).filter(is_active=True, memberships__agent_id=actor.user_id)


def _conditions(actor: Actor) -> dict[str, Q]:
    """What each queue adds to the visible tickets."""
    open_ = Q(status__in=workflow.OPEN)
    conditions = {
        "mine": open_ & Q(assignee_id=actor.user_id),
        "groups": open_ & Q(support_group_id__in=_my_groups(actor).values("pk")),
        "unassigned": open_ & Q(assignee__isnull=True),
        "pending": Q(status__in=workflow.PENDING),
        "breaching": Q(status__in=WORKING),
        "all": Q(),
    }
    for tier in (1, 2, 3, 4):
        conditions[f"tier{tier}"] = open_ & Q(tier=tier)
    return conditions


def queue_tickets(actor: Actor, queue: Queue) -> TicketQuerySet:
    # The earliest due time of the ticket's running or breached clocks (NULL without a policy).
    next_due = (
        SlaClock.objects.filter(ticket=OuterRef("pk"), state__in=[ClockState.RUNNING, ClockState.BREACHED])
        .order_by("due_at")
        .values("due_at")[:1]
    )
    return Ticket.objects.visible_to(actor).filter(_conditions(actor)[queue.key]).annotate(next_due=Subquery(next_due))


def queue_counts(actor: Actor) -> dict[str, int]:
    """Every counted queue in one query: all of them are slices of the open tickets."""
    conditions = _conditions(actor)
    counted = [queue.key for queue in QUEUES if queue.counted]
    totals = (
        Ticket.objects.visible_to(actor)
        .filter(status__in=workflow.OPEN)
        .aggregate(**{key: Count("pk", filter=conditions[key]) for key in counted})
    )
    return {key: int(totals[key] or 0) for key in counted}
