"""The only way to load a problem or known error that a person names."""

from __future__ import annotations

from tierdesk.core.actor import Actor
from tierdesk.core.errors import NotFound
from tierdesk.problems.models import KnownError, Problem


def access_problem(actor: Actor, *, number: str | None = None, pk: int | None = None) -> Problem:
    """A problem of the actor's provider, else NotFound (never a hint that it exists)."""
    qs = Problem.objects.visible_to(actor).for_detail()
    problem = None
    if number is not None:
        problem = qs.filter(number=number.upper()).first()
    elif pk is not None:
        problem = qs.filter(pk=pk).first()
    if problem is None:
        raise NotFound("No such problem, or you may not see it.")
    return problem


def access_known_error(actor: Actor, *, pk: int) -> KnownError:
    known_error = KnownError.objects.visible_to(actor).select_related("problem").filter(pk=pk).first()
    if known_error is None:
        raise NotFound("No such known error, or you may not see it.")
    return known_error
