"""Row-lock helpers shared by the apps."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models

M = TypeVar("M", bound=models.Model)


def locked_row(model: type[M], **key: Any) -> M:
    """A counter-like row (a sequence, a chain head) under a row lock, created if missing.

    Migrations seed these rows; a flushed test database or a new kind of counter may lack one.
    """
    manager = model._default_manager
    row = manager.select_for_update().filter(**key).first()
    if row is None:
        manager.get_or_create(**key)
        row = manager.select_for_update().get(**key)
    return row
