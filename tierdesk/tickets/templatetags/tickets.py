from django import template

from tierdesk.tickets.choices import TicketStatus

register = template.Library()

_EVENT_LABELS = {
    "opened": "opened the ticket",
    "assigned": "changed the assignee",
    "group_changed": "moved it to another group",
    "tier_changed": "changed the tier",
    "priority_changed": "changed the priority",
    "category_changed": "changed the category",
    "status_changed": "changed the status",
    "reopened": "reopened the ticket",
    "attachment_added": "attached a file",
    "sla_warning": "raised an SLA warning",
    "sla_breach": "recorded an SLA breach",
    "sla_action_failed": "could not carry out an SLA action",
    "escalation_requested": "requested escalation",
    "problem_linked": "linked it to a problem",
    "problem_unlinked": "unlinked it from a problem",
    "known_error_applied": "applied a known error",
    "acknowledgement_suppressed": "held back the acknowledgement (too many to this address this hour)",
    "asked_for_a_person": "asked for a person in the chat",
    "joined_the_chat": "joined the chat",
    "left_the_chat": "left the chat",
    "ended_the_chat": "ended the chat",
    "chat_closed": "closed the chat",
    "chat_notice": "posted in the chat",
    "approval_requested": "asked for approval",
    "approval_granted": "approved the request",
}


@register.filter
def event_label(event: str) -> str:
    return _EVENT_LABELS.get(event, event.replace("_", " "))


@register.filter
def status_label(value: str) -> str:
    """Status values in event data, as people read them; other values pass through."""
    return str(TicketStatus(value).label) if value in TicketStatus.values else str(value)
