"""Input validators of the portal. They check what a requester typed; services do the writing."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.urls import reverse

from tierdesk.cmdb.models import BusinessService
from tierdesk.portal import guide
from tierdesk.tickets.choices import Level, TicketType
from tierdesk.tickets.models import Category

MAX_FILES = 10


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Several files at once, each checked against the attachment size limit before any is saved."""

    widget = MultipleFileInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", "Attachments")
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        items = data if isinstance(data, list | tuple) else [data]
        single = super().clean
        files = [single(item, initial) for item in items if item]
        if len(files) > MAX_FILES:
            raise forms.ValidationError(f"Attach at most {MAX_FILES} files at a time.")
        limit = settings.TIERDESK_ATTACHMENT_MAX_BYTES
        too_big = [f for f in files if (f.size or 0) > limit]
        if too_big:
            names = ", ".join(f"{f.name} ({filesizeformat(f.size)})" for f in too_big)
            raise forms.ValidationError(
                f"Too big: {names}. Each file may be at most {filesizeformat(limit)}; "
                "please choose smaller files (or a zip of them)."
            )
        return files


IMPACT_CHOICES = [
    (Level.LOW, "Just me"),
    (Level.MEDIUM, "My team or department"),
    (Level.HIGH, "Many people, or a whole site"),
]
URGENCY_CHOICES = [
    (Level.LOW, "It can wait a few days"),
    (Level.MEDIUM, "It slows my work down"),
    (Level.HIGH, "I cannot work at all"),
]


class PortalForm(forms.Form):
    """Bootstrap's classes on every widget; errors are marked by Django's aria-invalid."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(field, AttachmentsField):
                # portal.js reads the limit to refuse a file before the form is sent (nothing typed is lost).
                widget.attrs.update({"multiple": True, "data-max-bytes": settings.TIERDESK_ATTACHMENT_MAX_BYTES})
            if isinstance(widget, forms.RadioSelect | forms.CheckboxInput):
                continue
            css = "form-select" if isinstance(widget, forms.Select) else "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()


class CategoryChoiceField(forms.ModelChoiceField):
    """Categories by their own name: the area is chosen in the field before."""

    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name)


def areas() -> Any:
    return Category.objects.areas()


class TicketForm(PortalForm):
    """A new ticket, guided by category: an area first, then one of its sub-categories."""

    area = CategoryChoiceField(
        queryset=Category.objects.none(),
        label="What is it about?",
        empty_label="Choose an area…",
        error_messages={"required": "Choose what your request is about.", "invalid_choice": "Choose an area."},
    )
    subcategory = CategoryChoiceField(
        queryset=Category.objects.none(),
        required=False,
        label="More precisely",
        empty_label="Not sure / something else",
        error_messages={"invalid_choice": "Choose one of the options listed for this area."},
    )
    title = forms.CharField(
        max_length=250,
        label="Summary",
        help_text="One line, e.g. “Laptop does not start”.",
        error_messages={"required": "Give your ticket a short summary."},
    )
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 7}),
        label="Details",
        help_text="Markdown is allowed.",
    )
    affected_service = forms.ModelChoiceField(
        queryset=BusinessService.objects.none(),
        required=False,
        label="Which service is affected?",
        empty_label="Not sure / none of these",
        error_messages={"invalid_choice": "Choose one of the services listed."},
    )
    impact = forms.ChoiceField(choices=IMPACT_CHOICES, initial=Level.LOW, label="Who is affected?")
    urgency = forms.ChoiceField(choices=URGENCY_CHOICES, initial=Level.MEDIUM, label="How urgent is it?")
    attachments = AttachmentsField(help_text="Screenshots or documents; you can choose several files.")

    def __init__(self, *args: Any, organisation_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        service_field = self.fields["affected_service"]
        assert isinstance(service_field, forms.ModelChoiceField)
        # The services of the requester's own organisation, and the provider's shared ones it uses.
        service_field.queryset = (
            BusinessService.objects.offered_to(organisation_id).order_by("name")
            if organisation_id is not None
            else BusinessService.objects.none()
        )
        area_field = self.fields["area"]
        assert isinstance(area_field, forms.ModelChoiceField)
        area_field.queryset = areas()
        sub_field = self.fields["subcategory"]
        assert isinstance(sub_field, forms.ModelChoiceField)
        area_id = self._area_id()
        sub_field.queryset = Category.objects.within_area(area_id) if area_id is not None else Category.objects.none()
        # Choosing an area fetches its sub-categories and hint (portal/partials/category_fields.html).
        guided = {"hx-get": reverse("portal:category_fields"), "hx-trigger": "change", "hx-target": "#category-fields"}
        area_field.widget.attrs.update(guided)
        sub_field.widget.attrs.update({**guided, "hx-include": "#id_area"})

    def _area_id(self) -> int | None:
        raw = self.data.get(self.add_prefix("area")) if self.is_bound else self.initial.get("area")
        try:
            return int(raw) if raw not in (None, "") else None
        except (TypeError, ValueError):
            return None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["category"] = data.get("subcategory") or data.get("area")
        data["ticket_type"] = guide.ticket_type_for(data["category"])
        return data

    def chosen_category(self) -> Category | None:
        """The category picked so far (sub-category, else area), for the hint; no validation."""
        sub_field = self.fields["subcategory"]
        area_field = self.fields["area"]
        assert isinstance(sub_field, forms.ModelChoiceField) and isinstance(area_field, forms.ModelChoiceField)
        for field, name in ((sub_field, "subcategory"), (area_field, "area")):
            raw = self[name].value()
            if raw in (None, ""):
                continue
            try:
                found = field.queryset.filter(pk=int(raw)).first() if field.queryset is not None else None
            except (TypeError, ValueError):
                found = None
            if found is not None:
                return found
        return None

    def guidance(self) -> dict[str, Any]:
        category = self.chosen_category()
        ticket_type = guide.ticket_type_for(category)
        return {
            "category": category,
            "hint": guide.hint_for(category),
            "ticket_type": ticket_type,
            "ticket_type_label": TicketType(ticket_type).label,
        }


class ReplyForm(PortalForm):
    body = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4}), label="Your reply", help_text="Markdown is allowed."
    )
    attachments = AttachmentsField()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("body") or "").strip() and not data.get("attachments") and not self.errors:
            raise forms.ValidationError("Write a reply or attach a file.")
        return data


class ReopenForm(PortalForm):
    reason = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="What is still not working?",
    )


class CancelForm(PortalForm):
    reason = forms.CharField(required=False, max_length=2000, label="Why do you withdraw it? (optional)")


class RatingForm(PortalForm):
    score = forms.TypedChoiceField(
        choices=[(n, str(n)) for n in range(1, 6)],
        coerce=int,
        widget=forms.RadioSelect,
        label="How well was this resolved? (1 = poorly, 5 = very well)",
        error_messages={"required": "Choose a score from 1 to 5.", "invalid_choice": "Choose a score from 1 to 5."},
    )
    comment = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label="Comment (optional)"
    )
