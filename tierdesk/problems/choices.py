from django.db import models


class ProblemStatus(models.TextChoices):
    NEW = "new", "New"
    INVESTIGATING = "investigating", "Investigating"
    ROOT_CAUSE_KNOWN = "root_cause_known", "Root cause known"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


class ProblemOrigin(models.TextChoices):
    """Where a problem came from, so reports can tell reactive problem management apart."""

    MANUAL = "manual", "Raised by hand"
    MAJOR_INCIDENT = "major_incident", "From a major incident"
    RECURRING_INCIDENTS = "recurring_incidents", "From recurring incidents"


class ProblemNoteKind(models.TextChoices):
    NOTE = "note", "Root-cause note"
    ROOT_CAUSE = "root_cause", "Root cause recorded"
    STATUS = "status", "Status change"


class FixStatus(models.TextChoices):
    NONE = "none", "No fix yet"
    PLANNED = "planned", "Fix planned"
    IN_PROGRESS = "in_progress", "Fix in progress"
    RELEASED = "released", "Fix released"
    WONT_FIX = "wont_fix", "Won't fix"
