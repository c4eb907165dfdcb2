from django.db import models


class TicketType(models.TextChoices):
    INCIDENT = "incident", "Incident"
    SERVICE_REQUEST = "service_request", "Service request"


NUMBER_PREFIX: dict[str, str] = {TicketType.INCIDENT: "INC", TicketType.SERVICE_REQUEST: "REQ"}


class Channel(models.TextChoices):
    PORTAL = "portal", "Self-service portal"
    EMAIL = "email", "E-mail"
    CHAT = "chat", "Chat"
    PHONE = "phone", "Phone"
    API = "api", "API"
    MONITORING = "monitoring", "Monitoring alert"


class Level(models.TextChoices):
    """Impact and urgency, the two inputs of the ITIL priority matrix."""

    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class Priority(models.IntegerChoices):
    P1 = 1, "P1 Critical"
    P2 = 2, "P2 High"
    P3 = 3, "P3 Moderate"
    P4 = 4, "P4 Low"
    P5 = 5, "P5 Planning"


class TicketStatus(models.TextChoices):
    NEW = "new", "New"
    ASSIGNED = "assigned", "Assigned"
    IN_PROGRESS = "in_progress", "In progress"
    PENDING_CUSTOMER = "pending_customer", "Pending customer"
    PENDING_VENDOR = "pending_vendor", "Pending vendor"
    PENDING_ENGINEERING = "pending_engineering", "Pending engineering"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


class ResolutionCode(models.TextChoices):
    FIXED = "fixed", "Solved (permanently)"
    WORKAROUND = "workaround", "Solved (workaround)"
    REQUEST_FULFILLED = "request_fulfilled", "Request fulfilled"
    RESOLVED_BY_REQUESTER = "resolved_by_requester", "Resolved by requester"
    NOT_REPRODUCIBLE = "not_reproducible", "Not solved (not reproducible)"
    DUPLICATE = "duplicate", "Duplicate"
    NO_FAULT_FOUND = "no_fault_found", "No fault found"


class TimelineKind(models.TextChoices):
    REPLY = "reply", "Public reply"
    NOTE = "note", "Internal note"
    EVENT = "event", "System event"
