"""Problems and known errors in the admin. Every save is audited.

Problems are raised and moved through their workflow in the console or the API, where they
are numbered and their incidents hear of it; here their texts and owner group can be
corrected. Known errors are curated content and may be written here too.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from tierdesk.audit.admin_mixins import AuditedModelAdmin
from tierdesk.problems.models import KnownError, KnownErrorApplication, Problem, ProblemIncident, ProblemNote


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ProblemIncidentInline(_ReadOnlyInline):
    model = ProblemIncident
    fields = ("ticket", "linked_by_label", "created_at")
    readonly_fields = fields


class ProblemNoteInline(_ReadOnlyInline):
    model = ProblemNote
    fields = ("kind", "author_label", "body", "created_at")
    readonly_fields = fields


@admin.register(Problem)
class ProblemAdmin(AuditedModelAdmin):
    list_display = ("number", "title", "organisation", "status", "origin", "owner_group", "created_at")
    list_filter = ("status", "origin")
    search_fields = ("number", "title")
    list_select_related = ("organisation", "owner_group")
    fields = (
        "number",
        "organisation",
        "title",
        "description",
        "status",
        "origin",
        "root_cause",
        "owner_group",
        "major_incident_ticket",
        "resolved_at",
        "closed_at",
    )
    readonly_fields = (
        "number",
        "organisation",
        "status",
        "origin",
        "major_incident_ticket",
        "resolved_at",
        "closed_at",
    )
    inlines = (ProblemIncidentInline, ProblemNoteInline)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class KnownErrorApplicationInline(_ReadOnlyInline):
    model = KnownErrorApplication
    fields = ("ticket", "applied_by_label", "applied_at")
    readonly_fields = fields


class KnownErrorForm(forms.ModelForm):
    class Meta:
        model = KnownError
        fields = ("organisation", "problem", "title", "symptoms", "workaround", "root_cause", "fix_status", "is_active")

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        organisation, problem = data.get("organisation"), data.get("problem")
        if organisation is not None and not organisation.is_provider:
            self.add_error("organisation", "Known errors belong to the provider, not to a client.")
        if organisation is not None and problem is not None and problem.organisation_id != organisation.pk:
            self.add_error("problem", "That problem belongs to another provider.")
        return data


@admin.register(KnownError)
class KnownErrorAdmin(AuditedModelAdmin):
    form = KnownErrorForm
    list_display = ("title", "organisation", "problem", "fix_status", "is_active", "updated_at")
    list_filter = ("fix_status", "is_active")
    search_fields = ("title", "symptoms")
    list_select_related = ("organisation", "problem")
    raw_id_fields = ("problem",)
    inlines = (KnownErrorApplicationInline,)
