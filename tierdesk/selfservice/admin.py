"""Self-service in the admin. Every save is audited.

The software catalogue is configuration and is edited here. Approvals are decided on the
console's approvals page (catalogue.decide_approval), so here they are read-only.
Chats and Tier 0 contacts are records of what happened: read-only too (chats change only
through selfservice.services, which writes their tickets' timelines).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from tierdesk.audit.admin_mixins import AuditedModelAdmin
from tierdesk.selfservice.models import CatalogItem, ChatMessage, Conversation, ServiceRequestApproval, Tier0Interaction


@admin.register(CatalogItem)
class CatalogItemAdmin(AuditedModelAdmin):
    list_display = ("name", "organisation", "requires_approval", "approver_group", "fulfilment_group", "is_active")
    list_filter = ("requires_approval", "is_active", "organisation")
    search_fields = ("name", "keywords", "description")
    filter_horizontal = ("offered_to",)
    fields = (
        "organisation",
        "name",
        "description",
        "keywords",
        "offered_to",
        "category",
        "requires_approval",
        "approver_group",
        "fulfilment_group",
        "is_active",
    )


@admin.register(ServiceRequestApproval)
class ServiceRequestApprovalAdmin(admin.ModelAdmin):
    list_display = ("ticket", "item", "approver_group", "status", "decided_by", "decided_at")
    list_filter = ("status",)
    search_fields = ("ticket__number", "item__name")
    readonly_fields = (
        "organisation",
        "ticket",
        "item",
        "approver_group",
        "status",
        "decided_by",
        "decided_at",
        "comment",
        "created_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ChatMessageInline(admin.TabularInline):
    model = ChatMessage
    extra = 0
    can_delete = False
    fields = ("created_at", "author", "user", "body", "timeline_entry")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(_ReadOnlyAdmin):
    list_display = ("pk", "requester", "organisation", "status", "ticket", "agent", "queued_at", "last_message_at")
    list_filter = ("status",)
    search_fields = ("requester__name", "ticket__number")
    list_select_related = ("requester", "organisation", "ticket", "agent")
    readonly_fields = (
        "organisation",
        "requester",
        "user",
        "status",
        "ticket",
        "agent",
        "queued_at",
        "taken_at",
        "closed_at",
        "last_message_at",
        "created_at",
    )
    inlines = [ChatMessageInline]


@admin.register(Tier0Interaction)
class Tier0InteractionAdmin(_ReadOnlyAdmin):
    list_display = ("created_at", "organisation", "requester", "kind", "outcome", "article", "automation", "ticket")
    list_filter = ("kind", "outcome")
    list_select_related = ("organisation", "requester", "article", "ticket")
    readonly_fields = (
        "organisation",
        "requester",
        "conversation",
        "kind",
        "outcome",
        "article",
        "automation",
        "ticket",
        "created_at",
    )
