from django.db import models


class OrganisationKind(models.TextChoices):
    PROVIDER = "provider", "Provider (the service desk)"
    CLIENT = "client", "Client organisation"
