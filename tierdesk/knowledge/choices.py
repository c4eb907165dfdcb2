from django.db import models


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    RETIRED = "retired", "Retired"


class Visibility(models.TextChoices):
    # Requesters of the audience organisations (every client of the provider when the audience
    # is empty) and all agents of the provider.
    REQUESTERS = "requesters", "Requesters and agents"
    INTERNAL = "internal", "Agents only"


class ArticleSource(models.TextChoices):
    MANUAL = "manual", "Written here"
    IMPORT = "import", "Imported"
    KNOWN_ERROR = "known_error", "Published known error"


class ReadSource(models.TextChoices):
    """Where an article was read or searched from (Tier 0 metrics split by it)."""

    PORTAL = "portal", "Portal"
    CONSOLE = "console", "Agent console"
    CHAT = "chat", "Virtual agent"
    API = "api", "API"
