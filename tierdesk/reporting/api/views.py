"""Report endpoints under /api/v1/reports/: the same figures as the report pages."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from tierdesk.accounts.scope import scope_for
from tierdesk.core.actor import Actor
from tierdesk.core.api import PROBLEM, ScopedPrimaryKeyField, ScopedViewSet, StrictInputSerializer
from tierdesk.core.errors import DomainError
from tierdesk.reporting.sla_compliance import DIMENSIONS, parse_grouping, sla_compliance
from tierdesk.reporting.tier0_metrics import tier0_metrics
from tierdesk.reporting.tier_metrics import tier_metrics
from tierdesk.sla.models import SlaClock
from tierdesk.tenancy.models import Organisation


class ReportQuery(StrictInputSerializer):
    """Every report's filter: one of the organisations the caller sees in full."""

    organisation = ScopedPrimaryKeyField(
        model=Organisation,
        scoped=lambda a: Organisation.objects.within(scope_for(a).organisation_ids),
        required=False,
        allow_null=True,
        default=None,
    )

    def as_arguments(self) -> dict[str, Any]:
        """The validated filters as the report function's keyword arguments."""
        params = dict(self.validated_data)
        organisation = params.pop("organisation")
        return {**params, "organisation_id": organisation.pk if organisation else None}


class ComplianceQuery(ReportQuery):
    group_by = serializers.CharField(
        required=False, default="", help_text=f"Comma-separated, any of: {', '.join(DIMENSIONS)}."
    )
    opened_from = serializers.DateField(required=False, allow_null=True, default=None)
    opened_until = serializers.DateField(required=False, allow_null=True, default=None)

    def validate_group_by(self, value: str) -> tuple[str, ...]:
        try:
            return parse_grouping([value])
        except DomainError as exc:
            raise serializers.ValidationError(exc.detail) from exc


class ComplianceRowSerializer(serializers.Serializer):
    keys = serializers.DictField(child=serializers.CharField(), help_text="The row's value of each grouping.")
    response_total = serializers.IntegerField()
    response_met = serializers.IntegerField()
    response_percent = serializers.FloatField(allow_null=True)
    resolution_total = serializers.IntegerField()
    resolution_met = serializers.IntegerField()
    resolution_percent = serializers.FloatField(allow_null=True)
    breaches = serializers.IntegerField()
    mean_response_seconds = serializers.FloatField(allow_null=True, help_text="Business time.")
    mean_resolution_seconds = serializers.FloatField(allow_null=True, help_text="Business time.")


class ComplianceReportSerializer(serializers.Serializer):
    grouping = serializers.ListField(child=serializers.CharField())
    results = ComplianceRowSerializer(many=True)


class TierMetricsQuery(ReportQuery):
    resolved_from = serializers.DateField(required=False, allow_null=True, default=None)
    resolved_until = serializers.DateField(required=False, allow_null=True, default=None)


class TierRowSerializer(serializers.Serializer):
    tier = serializers.IntegerField()
    tickets = serializers.IntegerField(help_text="Resolved tickets that were at this tier before their resolution.")
    escalated = serializers.IntegerField(help_text="Of those, how many moved from this tier to a higher one.")
    escalation_percent = serializers.FloatField(allow_null=True)
    reassignments = serializers.IntegerField(help_text="Support-group changes made while at this tier.")
    reassignments_per_ticket = serializers.FloatField(allow_null=True)
    mean_hours_at_tier = serializers.FloatField(allow_null=True, help_text="Wall-clock hours while open.")
    resolved_here = serializers.IntegerField(help_text="Tickets at this tier when they were resolved.")
    resolved_percent = serializers.FloatField(allow_null=True, help_text="Share of all resolved tickets.")


class TierMetricsSerializer(serializers.Serializer):
    resolved = serializers.IntegerField(help_text="Tickets resolved in the period (the denominator).")
    first_contact = serializers.IntegerField(help_text="Of those, resolved at first contact (see decision 0004).")
    first_contact_percent = serializers.FloatField(allow_null=True)
    reassignments = serializers.IntegerField()
    reassignments_per_ticket = serializers.FloatField(allow_null=True)
    results = TierRowSerializer(many=True, source="tiers", help_text="One row per tier, 1 to 4.")


class Tier0MetricsQuery(ReportQuery):
    date_from = serializers.DateField(required=False, allow_null=True, default=None)
    date_until = serializers.DateField(required=False, allow_null=True, default=None)


class Tier0ArticleSerializer(serializers.Serializer):
    article_id = serializers.IntegerField()
    slug = serializers.CharField()
    title = serializers.CharField()
    views = serializers.IntegerField()
    helpful = serializers.IntegerField()
    unhelpful = serializers.IntegerField()
    helpful_percent = serializers.FloatField(allow_null=True)
    resolutions = serializers.IntegerField(help_text="Tier 0 interactions this article resolved.")


class UnansweredSearchSerializer(serializers.Serializer):
    query = serializers.CharField()
    searches = serializers.IntegerField()
    last_searched_at = serializers.DateTimeField()


class AutomationFigureSerializer(serializers.Serializer):
    automation = serializers.CharField()
    resolutions = serializers.IntegerField()


class Tier0MetricsSerializer(serializers.Serializer):
    contacts = serializers.IntegerField(help_text="Self-service resolutions plus tickets opened through any channel.")
    self_service = serializers.IntegerField()
    tier0_percent = serializers.FloatField(allow_null=True, help_text="Self-service resolutions over all contacts.")
    handed_to_person = serializers.IntegerField()
    abandoned = serializers.IntegerField()
    tickets_opened = serializers.IntegerField()
    help_sessions = serializers.IntegerField(help_text="Portal sessions that viewed at least one article.")
    deflected_sessions = serializers.IntegerField(help_text="Of those, sessions that did not submit a ticket.")
    deflection_percent = serializers.FloatField(allow_null=True)
    searches = serializers.IntegerField()
    searches_without_result = serializers.IntegerField()
    no_result_percent = serializers.FloatField(allow_null=True)
    automations = AutomationFigureSerializer(many=True)
    most_used = Tier0ArticleSerializer(many=True)
    least_helpful = Tier0ArticleSerializer(many=True)
    unanswered_searches = UnansweredSearchSerializer(many=True)


class ReportViewSet(ScopedViewSet):
    queryset = SlaClock.objects.none()

    def scoped_queryset(self, actor: Actor) -> QuerySet[Any]:
        return SlaClock.objects.visible_to(actor)

    def _filters(self, query_class: type[ReportQuery]) -> dict[str, Any]:
        query = query_class(data=self.request.query_params.dict(), context={"actor": self.actor})
        query.is_valid(raise_exception=True)
        return query.as_arguments()

    @extend_schema(
        summary="SLA compliance by organisation, contract, priority, group, tier or month",
        parameters=[ComplianceQuery],
        responses={200: ComplianceReportSerializer, 400: PROBLEM},
    )
    @action(detail=False, methods=["get"], url_path="sla-compliance")
    def sla_compliance(self, request: Request) -> Response:
        filters = self._filters(ComplianceQuery)
        grouping = filters.pop("group_by") or parse_grouping([])
        rows = sla_compliance(self.actor, grouping=grouping, **filters)
        return Response(ComplianceReportSerializer({"grouping": list(grouping), "results": rows}).data)

    @extend_schema(
        summary="First-contact resolution, and escalation, reassignment and time at each tier",
        parameters=[TierMetricsQuery],
        responses={200: TierMetricsSerializer, 400: PROBLEM},
    )
    @action(detail=False, methods=["get"], url_path="tier-metrics")
    def tier_metrics(self, request: Request) -> Response:
        return Response(TierMetricsSerializer(tier_metrics(self.actor, **self._filters(TierMetricsQuery))).data)

    @extend_schema(
        summary="Tier 0: self-service resolution share, article deflection, most used and least helpful articles",
        parameters=[Tier0MetricsQuery],
        responses={200: Tier0MetricsSerializer, 400: PROBLEM},
    )
    @action(detail=False, methods=["get"], url_path="tier0-metrics")
    def tier0_metrics(self, request: Request) -> Response:
        return Response(Tier0MetricsSerializer(tier0_metrics(self.actor, **self._filters(Tier0MetricsQuery))).data)
