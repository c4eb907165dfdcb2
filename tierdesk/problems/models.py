"""Problems (the unknown cause behind one or more incidents) and known errors (a diagnosed
cause with a workaround). Both are owned by the provider, like support groups: one problem
may gather incidents of several of its clients."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from tierdesk.core import clock
from tierdesk.core.models import TenantModel
from tierdesk.problems.choices import FixStatus, ProblemNoteKind, ProblemOrigin, ProblemStatus
from tierdesk.problems.querysets import KnownErrorQuerySet, ProblemQuerySet

NUMBER_PREFIX = "PRB"


class ProblemNumberSequence(models.Model):
    """The problem number counter, locked while a number is taken, so numbers never collide."""

    name = models.CharField(max_length=32, primary_key=True)
    last_value = models.PositiveBigIntegerField(default=1000)

    def __str__(self) -> str:
        return f"{self.name}: {self.last_value}"


class Problem(TenantModel):
    """The organisation is the provider; linked incidents may belong to any of its clients."""

    number = models.CharField(max_length=16, unique=True, editable=False)
    title = models.CharField(max_length=250)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=24, choices=ProblemStatus.choices, default=ProblemStatus.NEW)
    origin = models.CharField(max_length=24, choices=ProblemOrigin.choices, default=ProblemOrigin.MANUAL)
    root_cause = models.TextField(blank=True)
    owner_group = models.ForeignKey(
        "accounts.SupportGroup", on_delete=models.SET_NULL, null=True, blank=True, related_name="problems"
    )
    incidents: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        "tickets.Ticket", through="ProblemIncident", related_name="problems", blank=True
    )
    major_incident_ticket = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The major incident this problem was raised from, if any.",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = ProblemQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "status"], name="problem_org_status"),
            models.Index(fields=["organisation", "-created_at"], name="problem_org_created"),
            models.Index(fields=["-created_at", "-id"], name="problem_created"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class ProblemIncident(models.Model):
    """An incident linked to a problem: who linked it, and when."""

    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="incident_links")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="problem_links")
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    linked_by_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["problem", "ticket"], name="problem_incident_unique")]

    def __str__(self) -> str:
        return f"ticket {self.ticket_id} in problem {self.problem_id}"


class ProblemNote(TenantModel):
    """The investigation log: root-cause notes, the root cause as recorded, and status changes."""

    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(max_length=16, choices=ProblemNoteKind.choices, default=ProblemNoteKind.NOTE)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    author_label = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["problem", "created_at"], name="problemnote_problem")]

    def __str__(self) -> str:
        return f"{self.kind} on problem {self.problem_id}"


class KnownError(TenantModel):
    """A diagnosed cause with a workaround, owned by the provider; from a problem or on its own.

    Symptoms are written as requesters describe them: they are what tickets are matched against.
    """

    problem = models.ForeignKey(Problem, on_delete=models.SET_NULL, null=True, blank=True, related_name="known_errors")
    title = models.CharField(max_length=250)
    symptoms = models.TextField(help_text="What people see and report, in their words.")
    workaround = models.TextField(help_text="Inserted into the reply when an agent applies this known error.")
    root_cause = models.TextField(blank=True)
    fix_status = models.CharField(max_length=16, choices=FixStatus.choices, default=FixStatus.NONE)
    is_active = models.BooleanField(default=True, help_text="Inactive known errors are no longer suggested.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    applied_to: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        "tickets.Ticket", through="KnownErrorApplication", related_name="known_errors", blank=True
    )

    objects = KnownErrorQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "is_active"], name="knownerror_org_active"),
            models.Index(fields=["-created_at", "-id"], name="knownerror_created"),
        ]

    def __str__(self) -> str:
        return self.title


class KnownErrorApplication(models.Model):
    """A known error applied to a ticket: who applied its workaround, and when."""

    known_error = models.ForeignKey(KnownError, on_delete=models.CASCADE, related_name="applications")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="known_error_applications")
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    applied_by_label = models.CharField(max_length=200, blank=True)
    applied_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["applied_at", "id"]
        constraints = [models.UniqueConstraint(fields=["known_error", "ticket"], name="known_error_application_unique")]

    def __str__(self) -> str:
        return f"known error {self.known_error_id} on ticket {self.ticket_id}"
