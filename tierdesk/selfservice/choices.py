from django.db import models


class ConversationStatus(models.TextChoices):
    """A portal chat: the virtual agent first; a person only when asked for."""

    BOT = "bot", "With the virtual agent"
    WAITING = "waiting", "Waiting for an agent"
    LIVE = "live", "With an agent"
    CLOSED = "closed", "Closed"


class Author(models.TextChoices):
    REQUESTER = "requester", "Requester"
    BOT = "bot", "Virtual agent"
    AGENT = "agent", "Agent"
    SYSTEM = "system", "System"


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class Tier0Kind(models.TextChoices):
    ARTICLE = "article", "Knowledge article"
    AUTOMATION = "automation", "Automation"
    HANDOFF = "handoff", "Hand-off to a person"
    CHAT = "chat", "Chat with the virtual agent"  # one that ended without an answer or a person


class Tier0Outcome(models.TextChoices):
    SELF_SERVICE = "self_service", "Resolved by self-service"
    HANDED_TO_PERSON = "handed_to_person", "Handed to a person"
    ABANDONED = "abandoned", "Abandoned"


class Automation(models.TextChoices):
    PASSWORD_RESET = "password_reset", "Password reset"
    SOFTWARE_REQUEST = "software_request", "Software request"
    TICKET_STATUS = "ticket_status", "Ticket status"
