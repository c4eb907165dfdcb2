from django.db import models


class Role(models.TextChoices):
    REQUESTER = "requester", "Requester"
    AGENT = "agent", "Agent"
    SUPERVISOR = "supervisor", "Supervisor"
    ADMIN = "admin", "Administrator"


class Tier(models.IntegerChoices):
    # Tier 0 is self-service and has no support group.
    TIER_1 = 1, "Tier 1 (first contact)"
    TIER_2 = 2, "Tier 2 (specialists)"
    TIER_3 = 3, "Tier 3 (experts and vendors)"
    TIER_4 = 4, "Tier 4 (manufacturer)"


class Availability(models.TextChoices):
    AVAILABLE = "available", "Available"
    AWAY = "away", "Away"
    OFF = "off", "Off"


class AssignmentStrategy(models.TextChoices):
    MANUAL = "manual", "Manual (agents pick from the queue)"
    ROUND_ROBIN = "round_robin", "Round-robin"
    LEAST_LOADED = "least_loaded", "Least loaded"
    SKILLS = "skills", "Skills-based"


class TrainingRegime(models.TextChoices):
    """Compliance regimes whose data only trained agents may handle."""

    HIPAA = "hipaa", "HIPAA"
    PCI_DSS = "pci_dss", "PCI DSS"
    SOX = "sox", "SOX"
    GDPR = "gdpr", "GDPR"
