"""Escalation under /api/v1/tickets/{number}/: escalate/ (tiers) and vendor-escalation/, as in the console."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from tierdesk.accounts.models import SupportGroup
from tierdesk.core.actor import Actor
from tierdesk.core.api import PROBLEM, ScopedPrimaryKeyField, ScopedViewSet, StrictInputSerializer
from tierdesk.routing import services
from tierdesk.routing.models import EngineeringTracker
from tierdesk.tickets.access import access_ticket
from tierdesk.tickets.api.serializers import TicketSerializer
from tierdesk.tickets.api.views import IF_MATCH, NUMBER_PATTERN, _with_etag, expected_version
from tierdesk.tickets.models import Ticket


class EscalateInput(StrictInputSerializer):
    to_tier = serializers.IntegerField(min_value=1, max_value=4)
    note = serializers.CharField(max_length=5_000, help_text="What was tried (up), or why it goes back (down).")
    version = serializers.IntegerField(required=False, min_value=1, help_text="Or send If-Match.")


class VendorEscalationInput(StrictInputSerializer):
    vendor = ScopedPrimaryKeyField(
        model=SupportGroup,
        scoped=lambda a: SupportGroup.objects.visible_to(a).filter(is_vendor=True, is_active=True),
        help_text="A vendor support group serving the ticket's client.",
    )
    message = serializers.CharField(max_length=10_000, help_text="What the vendor should know; sent by e-mail.")
    vendor_reference = serializers.CharField(max_length=120, required=False, default="", allow_blank=True)
    version = serializers.IntegerField(required=False, min_value=1, help_text="Or send If-Match.")


class EngineeringInput(StrictInputSerializer):
    tracker = ScopedPrimaryKeyField(
        model=EngineeringTracker,
        scoped=lambda a: EngineeringTracker.objects.visible_to(a),
        help_text="An active tracker.",
    )
    reproduction_steps = serializers.CharField(max_length=20_000)
    environment = serializers.CharField(max_length=5_000, required=False, default="", allow_blank=True)
    version = serializers.IntegerField(required=False, min_value=1, help_text="Or send If-Match.")


@extend_schema(tags=["tickets"])
class TicketEscalationViewSet(ScopedViewSet):
    queryset = Ticket.objects.none()
    serializer_class = TicketSerializer  # what OPTIONS describes
    lookup_field = "number"
    lookup_value_regex = NUMBER_PATTERN

    def scoped_queryset(self, actor: Actor) -> QuerySet[Any]:
        return Ticket.objects.visible_to(actor)

    @extend_schema(
        summary="Escalate or de-escalate the ticket to another tier",
        request=EscalateInput,
        parameters=[IF_MATCH],
        responses={200: TicketSerializer, 400: PROBLEM, 404: PROBLEM, 412: PROBLEM, 428: PROBLEM},
    )
    @action(detail=True, methods=["post"])
    def escalate(self, request: Request, number: str) -> Response:
        return self._move(
            request,
            number,
            EscalateInput,
            lambda ticket, data, version: services.escalate(
                actor=self.actor, ticket=ticket, to_tier=data["to_tier"], note=data["note"], expected_version=version
            ),
        )

    @extend_schema(
        summary="Hand the ticket to a vendor (pending vendor; the vendor is e-mailed through the outbox)",
        request=VendorEscalationInput,
        parameters=[IF_MATCH],
        responses={200: TicketSerializer, 400: PROBLEM, 404: PROBLEM, 412: PROBLEM, 428: PROBLEM},
    )
    @action(detail=True, methods=["post"], url_path="vendor-escalation")
    def vendor_escalation(self, request: Request, number: str) -> Response:
        return self._move(
            request,
            number,
            VendorEscalationInput,
            lambda ticket, data, version: services.escalate_to_vendor(
                actor=self.actor,
                ticket=ticket,
                vendor=data["vendor"],
                message=data["message"],
                vendor_reference=data["vendor_reference"],
                expected_version=version,
            ),
        )

    @extend_schema(
        summary="Send the ticket to engineering (an issue in the tracker; pending engineering)",
        request=EngineeringInput,
        parameters=[IF_MATCH],
        responses={200: TicketSerializer, 400: PROBLEM, 404: PROBLEM, 412: PROBLEM, 428: PROBLEM},
    )
    @action(detail=True, methods=["post"], url_path="engineering")
    def engineering(self, request: Request, number: str) -> Response:
        return self._move(
            request,
            number,
            EngineeringInput,
            lambda ticket, data, version: services.send_to_engineering(
                actor=self.actor,
                ticket=ticket,
                tracker=data["tracker"],
                reproduction_steps=data["reproduction_steps"],
                environment=data["environment"],
                expected_version=version,
            ),
        )

    def _move(
        self,
        request: Request,
        number: str,
        input_class: type[StrictInputSerializer],
        perform: Callable[[Ticket, dict[str, Any], int], object],
    ) -> Response:
        """Load, validate, require the version the caller saw (If-Match or body), move, answer the ticket."""
        ticket = access_ticket(self.actor, number=number)
        data = input_class(data=request.data, context={"actor": self.actor})
        data.is_valid(raise_exception=True)
        perform(ticket, data.validated_data, expected_version(request, data.validated_data.get("version")))
        ticket = access_ticket(self.actor, pk=ticket.pk)
        return _with_etag(Response(TicketSerializer(ticket).data), ticket)
