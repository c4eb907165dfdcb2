"""Ticket endpoints under /api/v1/tickets/."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import FileResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from tierdesk.core.actor import Actor
from tierdesk.core.api import PROBLEM, DownloadRenderer, ScopedViewSet
from tierdesk.core.errors import DomainError, PayloadTooLarge
from tierdesk.tickets import services
from tierdesk.tickets.access import access_attachment, access_ticket, visible_attachments
from tierdesk.tickets.api.serializers import (
    AttachmentSerializer,
    AttachmentUploadInput,
    TicketCreateInput,
    TicketSerializer,
    TicketUpdateInput,
    TimelineEntrySerializer,
    TimelineInput,
    TransitionInput,
)
from tierdesk.tickets.choices import TimelineKind
from tierdesk.tickets.filters import TicketFilterSet
from tierdesk.tickets.models import Category, Ticket

NUMBER_PATTERN = r"[A-Za-z]{3}[0-9]{7}"
_ETAG = re.compile(r'^\s*(?:W/)?"?(\d+)"?\s*$')

IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, description='The ticket version you read, e.g. "3".'
)


def expected_version(request: Request, body_version: int | None) -> int:
    """The version the caller last saw, from If-Match or the body; one of them is required."""
    header = request.headers.get("If-Match")
    if header:
        match = _ETAG.match(header)
        if match is None:
            raise ParseError('If-Match must be the ticket version as an entity tag, e.g. "3".')
        return int(match.group(1))
    if body_version is not None:
        return body_version
    raise PreconditionRequired()


class PreconditionRequired(DomainError):
    status_code = 428
    title = "Precondition required"

    def __init__(self) -> None:
        super().__init__('Send If-Match: "<version>" or a "version" field, so that no change is silently overwritten.')


def _with_etag(response: Response, ticket: Ticket) -> Response:
    response["ETag"] = f'"{ticket.version}"'
    return response


@extend_schema(tags=["tickets"])
class TicketViewSet(ScopedViewSet, mixins.ListModelMixin):
    queryset = Ticket.objects.none()
    serializer_class = TicketSerializer
    filterset_class = TicketFilterSet
    lookup_field = "number"
    lookup_value_regex = NUMBER_PATTERN

    def scoped_queryset(self, actor: Actor) -> QuerySet[Ticket]:
        return Ticket.objects.visible_to(actor).for_list()

    def _ticket(self, number: str, log_view: bool = False) -> Ticket:
        return access_ticket(self.actor, number=number, log_view=log_view)

    def _context(self) -> dict[str, Any]:
        return {"actor": self.actor, "request": self.request}

    @extend_schema(
        summary="List visible tickets",
        parameters=[OpenApiParameter("page_size", int, description="At most 200.")],
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="Open a ticket",
        request=TicketCreateInput,
        responses={201: TicketSerializer, 400: PROBLEM, 403: PROBLEM},
    )
    def create(self, request: Request) -> Response:
        data = TicketCreateInput(data=request.data, context=self._context())
        data.is_valid(raise_exception=True)
        ticket = services.open_ticket(actor=self.actor, **data.validated_data)
        ticket = access_ticket(self.actor, pk=ticket.pk)
        response = Response(TicketSerializer(ticket).data, status=201)
        response["Location"] = reverse("api:ticket-detail", kwargs={"number": ticket.number})
        return _with_etag(response, ticket)

    @extend_schema(
        summary="Read a ticket (recorded in the access log)", responses={200: TicketSerializer, 404: PROBLEM}
    )
    def retrieve(self, request: Request, number: str) -> Response:
        ticket = self._ticket(number, log_view=True)
        return _with_etag(Response(TicketSerializer(ticket).data), ticket)

    @extend_schema(
        summary="Change fields (optimistic concurrency)",
        request=TicketUpdateInput,
        parameters=[IF_MATCH],
        responses={200: TicketSerializer, 400: PROBLEM, 404: PROBLEM, 412: PROBLEM, 428: PROBLEM},
    )
    def partial_update(self, request: Request, number: str) -> Response:
        ticket = self._ticket(number)
        data = TicketUpdateInput(data=request.data, context=self._context(), partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        version = expected_version(request, changes.pop("version", None))
        ticket = services.update_ticket(
            actor=self.actor, ticket=ticket, changes=services.TicketChanges(**changes), expected_version=version
        )
        ticket = access_ticket(self.actor, pk=ticket.pk)
        return _with_etag(Response(TicketSerializer(ticket).data), ticket)

    @extend_schema(
        summary="Move the ticket to another status",
        request=TransitionInput,
        parameters=[IF_MATCH],
        responses={200: TicketSerializer, 400: PROBLEM, 404: PROBLEM, 409: PROBLEM, 412: PROBLEM},
    )
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, number: str) -> Response:
        ticket = self._ticket(number)
        data = TransitionInput(data=request.data, context=self._context())
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        body_version = fields.pop("version", None)
        version = expected_version(request, body_version) if (body_version or request.headers.get("If-Match")) else None
        ticket = services.transition(
            actor=self.actor,
            ticket=ticket,
            to_status=fields["status"],
            resolution_code=fields["resolution_code"],
            resolution_notes=fields["resolution_notes"],
            reason=fields["reason"],
            expected_version=version,
        )
        ticket = access_ticket(self.actor, pk=ticket.pk)
        return _with_etag(Response(TicketSerializer(ticket).data), ticket)

    @extend_schema(
        methods=["get"],
        summary="Timeline: replies, internal notes (agents only) and system events",
        responses={200: TimelineEntrySerializer(many=True), 404: PROBLEM},
    )
    @extend_schema(
        methods=["post"],
        summary="Add a public reply or an internal note",
        request=TimelineInput,
        responses={201: TimelineEntrySerializer, 400: PROBLEM, 403: PROBLEM, 404: PROBLEM},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None, filterset_class=None)
    def timeline(self, request: Request, number: str) -> Response:
        # Reading the conversation is reading the ticket: it goes to the access log.
        ticket = self._ticket(number, log_view=request.method == "GET")
        if request.method == "GET":
            entries = ticket.timeline.visible_to(self.actor).select_related("author")
            return Response(TimelineEntrySerializer(entries, many=True).data)
        data = TimelineInput(data=request.data, context=self._context())
        data.is_valid(raise_exception=True)
        body = data.validated_data["body"]
        if data.validated_data["kind"] == TimelineKind.REPLY:
            entry = services.reply(actor=self.actor, ticket=ticket, body=body)
        else:
            entry = services.add_note(actor=self.actor, ticket=ticket, body=body)
        return Response(TimelineEntrySerializer(entry).data, status=201)

    @extend_schema(
        methods=["get"], summary="List attachments", responses={200: AttachmentSerializer(many=True), 404: PROBLEM}
    )
    @extend_schema(
        methods=["post"],
        summary="Upload an attachment (multipart)",
        request={"multipart/form-data": AttachmentUploadInput},
        responses={201: AttachmentSerializer, 400: PROBLEM, 404: PROBLEM, 413: PROBLEM},
    )
    @action(
        detail=True,
        methods=["get", "post"],
        pagination_class=None,
        filterset_class=None,
        parser_classes=[MultiPartParser],
    )
    def attachments(self, request: Request, number: str) -> Response:
        ticket = self._ticket(number)
        context = {"ticket_number": ticket.number}
        if request.method == "GET":
            qs = visible_attachments(self.actor, ticket)
            return Response(AttachmentSerializer(qs, many=True, context=context).data)
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        limit = settings.TIERDESK_ATTACHMENT_MAX_BYTES
        # Refuse an oversized body before reading it; the service re-checks the real size.
        if length > limit + 64 * 1024:
            raise PayloadTooLarge(f"Attachments may be at most {limit} bytes.")
        data = AttachmentUploadInput(data=request.data, context=self._context())
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        if upload.size is not None and upload.size > limit:
            raise PayloadTooLarge(f"Attachments may be at most {limit} bytes.")
        attachment = services.add_attachment(
            actor=self.actor,
            ticket=ticket,
            stream=upload,
            filename=upload.name or "attachment",
            is_public=data.validated_data["is_public"],
        )
        return Response(AttachmentSerializer(attachment, context=context).data, status=201)

    @extend_schema(
        summary="Download an attachment",
        description="The stored bytes, with the media type sniffed from the content (never the uploader's claim).",
        responses={(200, "*/*"): OpenApiTypes.BINARY, 404: PROBLEM},
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"attachments/(?P<attachment_id>[0-9]+)/download",
        url_name="attachment-download",
        renderer_classes=[DownloadRenderer],
        pagination_class=None,
        filterset_class=None,
    )
    def download(self, request: Request, number: str, attachment_id: str) -> FileResponse:
        ticket = self._ticket(number, log_view=True)
        attachment = access_attachment(self.actor, ticket=ticket, pk=int(attachment_id))
        return attachment_response(attachment)


def attachment_response(attachment: Any) -> FileResponse:
    """Always a download, never rendered inline, with the sniffed type and nosniff."""
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type=attachment.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "parent", "name", "path", "is_active"]
        read_only_fields = fields


@extend_schema(tags=["categories"])
class CategoryViewSet(ScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """The category tree (shared configuration of the installation)."""

    queryset = Category.objects.none()
    serializer_class = CategorySerializer
    pagination_class = None

    def scoped_queryset(self, actor: Actor) -> QuerySet[Category]:
        return Category.objects.all() if actor.user else Category.objects.none()
