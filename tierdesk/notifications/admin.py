"""Mail to requesters in the admin: its wording per provider (audited, checked before it is saved)
and the addresses whose mail bounces (cleared through the bounces service, which audits it)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from tierdesk.audit.admin_mixins import AuditedModelAdmin
from tierdesk.core.actor import Actor
from tierdesk.notifications import bounces, requester_mail
from tierdesk.notifications.models import BouncingAddress, EmailTemplate
from tierdesk.tenancy.choices import OrganisationKind
from tierdesk.tenancy.models import Organisation

PLACEHOLDERS = (
    "Django template syntax. Values: ticket.number, ticket.title, ticket.description, ticket.status_label, "
    "ticket.priority_label, ticket.type_label, ticket.opened_at, requester.name, requester.first_name, "
    "organisation.name, portal_url, status_label; for replies reply.body, reply.body_html, reply.author; "
    "for status changes status, old_status_label, reason; for resolutions satisfaction_url, satisfaction_days, "
    "resolution_notes, resolution_notes_html."
)


class EmailTemplateForm(forms.ModelForm):
    """A template that does not compile or render against sample values is refused here, not at the
    first ticket it should have reached."""

    class Meta:
        model = EmailTemplate
        fields = ("organisation", "kind", "is_active", "subject", "body_text", "body_html")
        help_texts = {
            "subject": "One line; [ticket number] is put in front if it is missing (replies are threaded by it).",
            "body_text": PLACEHOLDERS,
            "body_html": "Leave empty to send the text part alone. Values are HTML-escaped; "
            "reply.body_html and resolution_notes_html are already safe HTML.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        organisation = self.fields["organisation"]
        assert isinstance(organisation, forms.ModelChoiceField)
        # The wording belongs to the provider, whose clients' requesters all receive it.
        organisation.queryset = Organisation.objects.filter(kind=OrganisationKind.PROVIDER)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        if not kind:
            return data
        for name in ("subject", "body_text", "body_html"):
            source = data.get(name) or ""
            if not source.strip():
                continue
            try:
                rendered = requester_mail.check_wording(source, kind, html=name == "body_html")
            except requester_mail.WordingError as exc:
                self.add_error(name, f"This template cannot be used: {exc}")
                continue
            if name == "subject" and not rendered.strip():
                self.add_error(name, "The subject comes out empty.")
        return data


@admin.register(EmailTemplate)
class EmailTemplateAdmin(AuditedModelAdmin):
    form = EmailTemplateForm
    list_display = ("kind", "organisation", "subject", "is_active", "updated_at")
    list_filter = ("kind", "is_active")
    list_select_related = ("organisation",)
    readonly_fields = ("preview",)
    fieldsets = (
        (None, {"fields": ("organisation", "kind", "is_active")}),
        ("Wording", {"fields": ("subject", "body_text", "body_html")}),
        ("Preview with sample values (after saving)", {"fields": ("preview",)}),
    )

    @admin.display(description="Preview")
    def preview(self, obj: EmailTemplate | None) -> str:
        if obj is None or not obj.pk:
            return "Save to see a preview."
        wording = requester_mail.Wording(subject=obj.subject, body_text=obj.body_text, body_html=obj.body_html)
        try:
            mail = requester_mail.render(wording, requester_mail.sample_context(obj.kind))
        except requester_mail.WordingError as exc:
            return f"Cannot be rendered: {exc}"
        subject = requester_mail.with_ticket_number(mail.subject, "INC0001234")
        # Shown as text, escaped: the admin page never runs a template's markup.
        return format_html(
            '<p><strong>Subject:</strong> {}</p><pre style="white-space: pre-wrap">{}</pre>', subject, mail.text
        )


@admin.register(BouncingAddress)
class BouncingAddressAdmin(admin.ModelAdmin):
    """Read-only: intake flags addresses from delivery reports; admins only let mail go again."""

    list_display = ("email", "organisation", "bounces", "last_bounced_at", "cleared_at", "reason")
    list_filter = (("cleared_at", admin.EmptyFieldListFilter),)
    list_select_related = ("organisation",)
    search_fields = ("email",)
    actions = ["let_mail_go_again"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_clear_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("notifications.change_bouncingaddress"))

    @admin.action(description="Let mail go to these addresses again", permissions=["clear"])
    def let_mail_go_again(self, request: HttpRequest, queryset: QuerySet[BouncingAddress]) -> None:
        cleared = bounces.clear_bouncing(
            actor=Actor.from_request(request, via="admin"), ids=list(queryset.values_list("pk", flat=True))
        )
        self.message_user(request, f"Mail goes to {cleared} address(es) again.", messages.SUCCESS)
