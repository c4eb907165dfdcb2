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
