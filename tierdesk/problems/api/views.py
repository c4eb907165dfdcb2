"""Problems under /api/v1/problems/ and known errors under /api/v1/known-errors/ (agents of the provider)."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins
from rest_framework.request import Request
from rest_framework.response import Response

from tierdesk.core.actor import Actor
from tierdesk.core.api import PROBLEM, ScopedViewSet
from tierdesk.core.errors import NotFound
from tierdesk.problems import services
from tierdesk.problems.access import access_known_error
from tierdesk.problems.api.serializers import (
    KnownErrorCreateInput,
    KnownErrorSerializer,
    ProblemCreateInput,
    ProblemRecordSerializer,
)
from tierdesk.problems.models import KnownError, Problem
from tierdesk.tickets.api.views import NUMBER_PATTERN
from tierdesk.tickets.models import Ticket

PAGE_SIZE = OpenApiParameter("page_size", int, description="At most 200.")


@extend_schema(tags=["problems"])
class ProblemViewSet(ScopedViewSet, mixins.ListModelMixin):
    queryset = Problem.objects.none()
    serializer_class = ProblemRecordSerializer
    lookup_field = "number"
    lookup_value_regex = NUMBER_PATTERN

    def scoped_queryset(self, actor: Actor) -> QuerySet[Problem]:
        # Linked incidents are the provider's clients' tickets: only those this agent may see are named.
        visible = Ticket.objects.visible_to(actor)
        return (
            Problem.objects.visible_to(actor)
            .annotate(
                major_incident_number=Subquery(
                    visible.filter(pk=OuterRef("major_incident_ticket_id")).values("number")[:1]
                )
            )
            .prefetch_related(
                Prefetch(
                    "incidents", queryset=visible.only("id", "number").order_by("number"), to_attr="visible_incidents"
                ),
                Prefetch("known_errors", queryset=KnownError.objects.only("id", "problem_id").order_by("id")),
            )
        )

    def _problem(self, number: str) -> Problem:
        problem = self.scoped_queryset(self.actor).filter(number=number.upper()).first()
        if problem is None:
            raise NotFound("No such problem, or you may not see it.")
        return problem

    @extend_schema(summary="List the provider's problems", parameters=[PAGE_SIZE])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(summary="Read a problem", responses={200: ProblemRecordSerializer, 404: PROBLEM})
    def retrieve(self, request: Request, number: str) -> Response:
        return Response(ProblemRecordSerializer(self._problem(number)).data)

    @extend_schema(
        summary="Raise a problem (from a major incident or recurring incidents, which are linked)",
        request=ProblemCreateInput,
        responses={201: ProblemRecordSerializer, 400: PROBLEM, 403: PROBLEM},
    )
    def create(self, request: Request) -> Response:
        data = ProblemCreateInput(data=request.data, context={"actor": self.actor})
        data.is_valid(raise_exception=True)
        problem = services.create_problem(actor=self.actor, **data.validated_data)
        response = Response(ProblemRecordSerializer(self._problem(problem.number)).data, status=201)
        response["Location"] = reverse("api:problem-detail", kwargs={"number": problem.number})
        return response


@extend_schema(tags=["problems"])
class KnownErrorViewSet(ScopedViewSet, mixins.ListModelMixin):
    queryset = KnownError.objects.none()
    serializer_class = KnownErrorSerializer
    lookup_value_regex = "[0-9]+"

    def scoped_queryset(self, actor: Actor) -> QuerySet[KnownError]:
        return KnownError.objects.visible_to(actor).select_related("problem")

    @extend_schema(summary="List the provider's known errors", parameters=[PAGE_SIZE])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(summary="Read a known error", responses={200: KnownErrorSerializer, 404: PROBLEM})
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(KnownErrorSerializer(access_known_error(self.actor, pk=int(pk))).data)

    @extend_schema(
        summary="Record a known error (from a problem or on its own)",
        request=KnownErrorCreateInput,
        responses={201: KnownErrorSerializer, 400: PROBLEM, 403: PROBLEM},
    )
    def create(self, request: Request) -> Response:
        data = KnownErrorCreateInput(data=request.data, context={"actor": self.actor})
        data.is_valid(raise_exception=True)
        known_error = services.record_known_error(actor=self.actor, **data.validated_data)
        response = Response(KnownErrorSerializer(access_known_error(self.actor, pk=known_error.pk)).data, status=201)
        response["Location"] = reverse("api:known-error-detail", kwargs={"pk": known_error.pk})
        return response
