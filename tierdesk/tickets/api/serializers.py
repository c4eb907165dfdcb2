"""Ticket API: input validators (strict, scoped) separate from output serializers."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tierdesk.accounts.models import Requester, SupportGroup, User
from tierdesk.accounts.scope import scope_for
from tierdesk.cmdb.models import BusinessService, ConfigurationItem
from tierdesk.core.actor import Actor
from tierdesk.core.api import ScopedPrimaryKeyField, StrictInputSerializer
from tierdesk.tenancy.models import Site
from tierdesk.tickets import workflow
from tierdesk.tickets.choices import Channel, Level, ResolutionCode, TicketStatus, TicketType, TimelineKind
from tierdesk.tickets.models import Attachment, Category, Ticket, TimelineEntry


def _visible_sites(actor: Actor) -> Any:
    return Site.objects.within(scope_for(actor).member_organisation_ids)


def _visible_services(actor: Actor) -> Any:
    orgs = scope_for(actor).member_organisation_ids
    return BusinessService.objects.used_by(orgs)


def _visible_items(actor: Actor) -> Any:
    orgs = scope_for(actor).member_organisation_ids
    return ConfigurationItem.objects.within(orgs)


def _agents(actor: Actor) -> Any:
    scope = scope_for(actor)
    return User.objects.agents_of(scope.provider_id) if scope.is_agent_side else User.objects.none()


class _Ref(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class OrganisationRef(_Ref):
    pass


class RequesterRef(_Ref):
    # Empty for requesters known only by phone.
    email = serializers.EmailField(allow_blank=True)


class GroupRef(_Ref):
    tier = serializers.IntegerField()


class AgentRef(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="full_name")


class CategoryRef(serializers.Serializer):
    id = serializers.IntegerField()
    path = serializers.CharField()


class TicketSerializer(serializers.ModelSerializer):
    organisation = OrganisationRef()
    requester = RequesterRef()
    category = CategoryRef(allow_null=True)
    support_group = GroupRef(allow_null=True)
    assignee = AgentRef(allow_null=True)
    parent = serializers.SlugRelatedField(  # type: ignore[assignment,var-annotated]
        slug_field="number", read_only=True, allow_null=True
    )
    # Declared explicitly: a read-only ModelSerializer field drops `allow_blank`, so the schema
    # would omit the "" that every unresolved ticket carries.
    resolution_code = serializers.ChoiceField(choices=ResolutionCode.choices, allow_blank=True, read_only=True)
    allowed_transitions = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = [
            "id",
            "number",
            "ticket_type",
            "title",
            "description",
            "status",
            "allowed_transitions",
            "priority",
            "impact",
            "urgency",
            "tier",
            "channel",
            "organisation",
            "requester",
            "site",
            "category",
            "support_group",
            "assignee",
            "parent",
            "affected_service",
            "affected_item",
            "version",
            "created_at",
            "updated_at",
            "first_response_at",
            "resolved_at",
            "closed_at",
            "resolution_code",
            "resolution_notes",
            "reopen_count",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=TicketStatus.choices)))
    def get_allowed_transitions(self, ticket: Ticket) -> list[str]:
        return workflow.allowed_targets(ticket.status)


class TicketCreateInput(StrictInputSerializer):
    requester = ScopedPrimaryKeyField(
        model=Requester, scoped=lambda a: Requester.objects.visible_to(a).filter(is_active=True)
    )
    title = serializers.CharField(max_length=250)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=100_000)
    ticket_type = serializers.ChoiceField(
        choices=TicketType.choices,
        required=False,
        help_text="Leave out to let the desk's classification rules decide (else: incident).",
    )
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.API)
    category = ScopedPrimaryKeyField(
        model=Category, scoped=lambda a: Category.objects.active(), required=False, allow_null=True
    )
    impact = serializers.ChoiceField(choices=Level.choices, default=Level.MEDIUM)
    urgency = serializers.ChoiceField(choices=Level.choices, default=Level.MEDIUM)
    site = ScopedPrimaryKeyField(model=Site, scoped=_visible_sites, required=False, allow_null=True)
    support_group = ScopedPrimaryKeyField(
        model=SupportGroup, scoped=lambda a: SupportGroup.objects.visible_to(a), required=False, allow_null=True
    )
    assignee = ScopedPrimaryKeyField(model=User, scoped=_agents, required=False, allow_null=True)
    # "parent" is also DRF's name for a field's enclosing serializer; the metaclass takes the
    # declared field out of the class, so only the type checker sees the clash.
    parent = ScopedPrimaryKeyField(  # type: ignore[assignment]
        model=Ticket, scoped=lambda a: Ticket.objects.visible_to(a), required=False, allow_null=True
    )
    affected_service = ScopedPrimaryKeyField(
        model=BusinessService, scoped=_visible_services, required=False, allow_null=True
    )
    affected_item = ScopedPrimaryKeyField(
        model=ConfigurationItem, scoped=_visible_items, required=False, allow_null=True
    )


class TicketUpdateInput(StrictInputSerializer):
    version = serializers.IntegerField(required=False, min_value=1, help_text='Or send If-Match: "<version>".')
    title = serializers.CharField(max_length=250, required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=100_000)
    category = ScopedPrimaryKeyField(
        model=Category, scoped=lambda a: Category.objects.active(), required=False, allow_null=True
    )
    impact = serializers.ChoiceField(choices=Level.choices, required=False)
    urgency = serializers.ChoiceField(choices=Level.choices, required=False)
    site = ScopedPrimaryKeyField(model=Site, scoped=_visible_sites, required=False, allow_null=True)
    support_group = ScopedPrimaryKeyField(
        model=SupportGroup, scoped=lambda a: SupportGroup.objects.visible_to(a), required=False, allow_null=True
    )
    tier = serializers.IntegerField(min_value=1, max_value=4, required=False)
    assignee = ScopedPrimaryKeyField(model=User, scoped=_agents, required=False, allow_null=True)
    # "parent" is also DRF's name for a field's enclosing serializer; the metaclass takes the
    # declared field out of the class, so only the type checker sees the clash.
    parent = ScopedPrimaryKeyField(  # type: ignore[assignment]
        model=Ticket, scoped=lambda a: Ticket.objects.visible_to(a), required=False, allow_null=True
    )
    affected_service = ScopedPrimaryKeyField(
        model=BusinessService, scoped=_visible_services, required=False, allow_null=True
    )
    affected_item = ScopedPrimaryKeyField(
        model=ConfigurationItem, scoped=_visible_items, required=False, allow_null=True
    )


class TransitionInput(StrictInputSerializer):
    status = serializers.ChoiceField(choices=TicketStatus.choices)
    resolution_code = serializers.ChoiceField(choices=ResolutionCode.choices, required=False, default="")
    resolution_notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=20_000)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2_000)
    version = serializers.IntegerField(required=False, min_value=1)


class TimelineInput(StrictInputSerializer):
    kind = serializers.ChoiceField(choices=[TimelineKind.REPLY, TimelineKind.NOTE])
    body = serializers.CharField(max_length=100_000)


class AttachmentSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "filename", "size", "sha256", "content_type", "is_public", "created_at", "download_url"]
        read_only_fields = fields

    def get_download_url(self, attachment: Attachment) -> str:
        return reverse(
            "api:ticket-attachment-download",
            kwargs={"number": self.context["ticket_number"], "attachment_id": attachment.pk},
        )


class AttachmentUploadInput(StrictInputSerializer):
    file = serializers.FileField()
    is_public = serializers.BooleanField(required=False, default=True)


class TimelineEntrySerializer(serializers.ModelSerializer):
    author = AgentRef(allow_null=True)

    class Meta:
        model = TimelineEntry
        fields = ["id", "kind", "is_public", "author", "author_label", "channel", "body", "event", "data", "created_at"]
        read_only_fields = fields
