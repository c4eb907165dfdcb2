"""Where a machine-learning classifier plugs in, and how its guesses combine with the rules.

Rules are the desk's explicit decisions and always win. A classifier only fills what no
rule set, and only when it is confident enough. Configure one with the setting
TIERDESK_CLASSIFIER = "package.module.factory" (a callable returning a Classifier).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from tierdesk.tickets.models import Ticket

DEFAULT_THRESHOLD = 0.8


@dataclass(frozen=True)
class Suggestion:
    """A classifier's guess: field name ("category_id", "impact", "urgency") -> (value, confidence 0..1)."""

    fields: dict[str, tuple[object, float]] = field(default_factory=dict)
    model: str = ""  # which model (and version) guessed, for the record on the ticket


class Classifier(Protocol):
    def suggest(self, ticket: Ticket) -> Suggestion | None: ...


@lru_cache(maxsize=1)
def configured() -> Classifier | None:
    path = getattr(settings, "TIERDESK_CLASSIFIER", "")
    return import_string(path)() if path else None


def combine(
    decided: dict[str, object], suggestion: Suggestion | None, threshold: float = DEFAULT_THRESHOLD
) -> dict[str, object]:
    """What the classifier adds to the rules' decisions: unset fields it is confident about."""
    if suggestion is None:
        return {}
    return {
        name: value
        for name, (value, confidence) in suggestion.fields.items()
        if name not in decided and confidence >= threshold
    }
