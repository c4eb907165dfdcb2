"""Routing is configured in the admin: rules, the routing table, regulated scopes, shifts. Every save is audited."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin

from tierdesk.audit.admin_mixins import AuditedModelAdmin, SecretFieldsForm
from tierdesk.routing.models import (
    AgentShift,
    ClassificationRule,
    EngineeringTracker,
    RegulatedScope,
    RoutingEntry,
)


@admin.register(ClassificationRule)
class ClassificationRuleAdmin(AuditedModelAdmin):
    list_display = ("name", "order", "organisation", "keywords", "pattern", "set_category", "set_urgency", "is_active")
    list_editable = ("order", "is_active")
    list_filter = ("is_active",)
    list_select_related = ("organisation", "set_category")
    filter_horizontal = ("set_skills",)
    fieldsets = (
        (None, {"fields": ("organisation", "name", "order", "is_active", "stop")}),
        ("When (empty: any)", {"fields": ("keywords", "pattern", "client_organisation", "site", "channel")}),
        ("Then set", {"fields": ("set_category", "set_ticket_type", "set_impact", "set_urgency", "set_skills")}),
    )


@admin.register(RoutingEntry)
class RoutingEntryAdmin(AuditedModelAdmin):
    list_display = ("__str__", "client_organisation", "category", "support_group")
    list_select_related = ("client_organisation", "category", "support_group")


@admin.register(RegulatedScope)
class RegulatedScopeAdmin(AuditedModelAdmin):
    list_display = ("client_organisation", "regime")
    filter_horizontal = ("categories",)


@admin.register(AgentShift)
class AgentShiftAdmin(AuditedModelAdmin):
    list_display = ("agent", "calendar")
    list_select_related = ("agent", "calendar")


# --- engineering trackers -------------------------------------------------------------------------

SECRET_FIELDS = ("token", "outbound_secret", "inbound_secret")


class EngineeringTrackerForm(SecretFieldsForm):
    """Secrets are typed in, never shown again; left empty on a change, the stored one stays."""

    secret_fields = SECRET_FIELDS

    base_url = forms.URLField(
        assume_scheme="https", max_length=200, help_text=EngineeringTracker._meta.get_field("base_url").help_text
    )

    class Meta:
        model = EngineeringTracker
        fields = ("organisation", "name", "kind", "is_active", "base_url", "project", "username", *SECRET_FIELDS)
        widgets = {name: forms.PasswordInput(render_value=False) for name in SECRET_FIELDS}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in SECRET_FIELDS:
            field = self.fields[name]
            field.required = False
            if self.instance.pk and getattr(self.instance, name):
                field.help_text = f"{field.help_text} Set; leave empty to keep it.".strip()

    def _keep(self, name: str) -> str:
        value = str(self.cleaned_data.get(name) or "")
        return value or (str(getattr(self.instance, name) or "") if self.instance.pk else "")

    def clean_token(self) -> str:
        return self._keep("token")

    def clean_outbound_secret(self) -> str:
        return self._keep("outbound_secret")

    def clean_inbound_secret(self) -> str:
        value = self._keep("inbound_secret")
        if not value:
            raise forms.ValidationError("Set the secret the tracker signs its webhooks with.")
        return value


@admin.register(EngineeringTracker)
class EngineeringTrackerAdmin(AuditedModelAdmin):
    form = EngineeringTrackerForm
    redacted_fields = SECRET_FIELDS
    list_display = ("name", "kind", "organisation", "base_url", "project", "is_active")  # never a secret
    list_filter = ("kind", "is_active")
    list_select_related = ("organisation",)
    search_fields = ("name", "project")
    fieldsets = (
        (None, {"fields": ("organisation", "name", "kind", "is_active")}),
        ("Where", {"fields": ("base_url", "project", "username")}),
        ("Secrets", {"fields": SECRET_FIELDS}),
    )
