"""Escalation under /api/v1/tickets/{number}/escalate/: the same service as the console's form."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from tierdesk.core.actor import Actor
from tierdesk.core.api import PROBLEM, ScopedViewSet, StrictInputSerializer
from tierdesk.core.errors import StaleVersion
from tierdesk.routing import services
from tierdesk.tickets.access import access_ticket
from tierdesk.tickets.api.serializers import TicketSerializer
from tierdesk.tickets.api.views import IF_MATCH, NUMBER_PATTERN, _with_etag, expected_version
from tierdesk.tickets.models import Ticket


class EscalateInput(StrictInputSerializer):
    to_tier = serializers.IntegerField(min_value=1, max_value=4)
    note = serializers.CharField(max_length=5_000, help_text="What was tried (up), or why it goes back (down).")
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
        ticket = access_ticket(self.actor, number=number)
        data = EscalateInput(data=request.data)
        data.is_valid(raise_exception=True)
        version = expected_version(request, data.validated_data.get("version"))
        if version != ticket.version:
            raise StaleVersion(
                f"Ticket {ticket.number} was changed by someone else (version {ticket.version}, you had {version}).",
                ticket.version,
            )
        services.escalate(
            actor=self.actor, ticket=ticket, to_tier=data.validated_data["to_tier"], note=data.validated_data["note"]
        )
        ticket = access_ticket(self.actor, pk=ticket.pk)
        return _with_etag(Response(TicketSerializer(ticket).data), ticket)
