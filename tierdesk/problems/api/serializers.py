"""Problem and known error API: input validators (strict, scoped) separate from output serializers."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tierdesk.accounts.models import SupportGroup
from tierdesk.core.api import ScopedPrimaryKeyField, StrictInputSerializer
from tierdesk.problems import workflow
from tierdesk.problems.choices import FixStatus, ProblemStatus
from tierdesk.problems.models import KnownError, Problem
from tierdesk.tickets.models import Ticket


# Named ProblemRecord: "Problem" is the schema's name for an error document (RFC 9457). Expects the
# queryset of `ProblemViewSet.scoped_queryset`, which prefetches the incidents the reader may see.
class ProblemRecordSerializer(serializers.ModelSerializer):
    """A problem: the cause, unknown or diagnosed, behind one or more incidents."""

    status = serializers.ChoiceField(choices=ProblemStatus.choices, read_only=True)
    allowed_transitions = serializers.SerializerMethodField()
    owner_group = serializers.PrimaryKeyRelatedField[SupportGroup](read_only=True, allow_null=True)
    major_incident = serializers.SerializerMethodField(
        help_text="The major incident's number, if it was raised from one (and you may see it)."
    )
    incidents = serializers.SerializerMethodField(help_text="Numbers of the linked incidents you may see.")
    known_errors = serializers.SerializerMethodField()

    class Meta:
        model = Problem
        fields = [
            "id",
            "number",
            "title",
            "description",
            "status",
            "allowed_transitions",
            "origin",
            "root_cause",
            "owner_group",
            "major_incident",
            "incidents",
            "known_errors",
            "created_at",
            "updated_at",
            "resolved_at",
            "closed_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=ProblemStatus.choices)))
    def get_allowed_transitions(self, problem: Problem) -> list[str]:
        return workflow.allowed_targets(problem.status)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_major_incident(self, problem: Problem) -> str | None:
        return getattr(problem, "major_incident_number", None)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_incidents(self, problem: Problem) -> list[str]:
        return [ticket.number for ticket in getattr(problem, "visible_incidents", [])]

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_known_errors(self, problem: Problem) -> list[int]:
        return [known_error.pk for known_error in problem.known_errors.all()]


class KnownErrorSerializer(serializers.ModelSerializer):
    problem = serializers.SlugRelatedField(  # type: ignore[var-annotated]
        slug_field="number", read_only=True, allow_null=True
    )
    fix_status = serializers.ChoiceField(choices=FixStatus.choices, read_only=True)
    root_cause = serializers.CharField(allow_blank=True, read_only=True)

    class Meta:
        model = KnownError
        fields = [
            "id",
            "title",
            "symptoms",
            "workaround",
            "root_cause",
            "fix_status",
            "is_active",
            "problem",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


def _visible_tickets(actor: Any) -> Any:
    return Ticket.objects.visible_to(actor)


class ProblemCreateInput(StrictInputSerializer):
    title = serializers.CharField(max_length=250)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=100_000)
    owner_group = ScopedPrimaryKeyField(
        model=SupportGroup,
        scoped=lambda a: SupportGroup.objects.visible_to(a).filter(is_active=True),
        required=False,
        allow_null=True,
    )
    major_incident = ScopedPrimaryKeyField(
        model=Ticket,
        scoped=_visible_tickets,
        required=False,
        allow_null=True,
        help_text="The id of the major incident the problem is raised from (also linked).",
    )
    incidents = serializers.ListField(
        child=ScopedPrimaryKeyField(model=Ticket, scoped=_visible_tickets),
        required=False,
        default=list,
        max_length=500,
        help_text="Ids of the (recurring) incidents to link.",
    )


class KnownErrorCreateInput(StrictInputSerializer):
    title = serializers.CharField(max_length=250)
    symptoms = serializers.CharField(max_length=20_000, help_text="What people see and report, in their words.")
    workaround = serializers.CharField(max_length=20_000)
    root_cause = serializers.CharField(required=False, allow_blank=True, default="", max_length=20_000)
    fix_status = serializers.ChoiceField(choices=FixStatus.choices, default=FixStatus.NONE)
    problem = ScopedPrimaryKeyField(
        model=Problem,
        scoped=lambda a: Problem.objects.visible_to(a),
        required=False,
        allow_null=True,
        help_text="The id of the problem it was diagnosed in (its root cause is the default).",
    )
