"""The report filters. Organisation choices are those the acting person sees in full."""

from __future__ import annotations

from typing import Any

from django import forms

from tierdesk.accounts.scope import scope_for
from tierdesk.core.actor import Actor
from tierdesk.reporting.sla_compliance import DEFAULT_GROUPING, DIMENSIONS
from tierdesk.tenancy.models import Organisation

DATE = {"class": "form-control form-control-sm", "type": "date"}


class ReportFilterForm(forms.Form):
    """The organisation filter every report has: the organisations the acting person sees in full."""

    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.none(),
        required=False,
        empty_label="All organisations",
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )

    # The names of the report's period fields (start, end), checked in order by clean().
    period: tuple[str, str] = ("", "")

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        visible = Organisation.objects.within(scope_for(actor).organisation_ids).filter(provider__isnull=False)
        self.fields["organisation"].queryset = visible.order_by("name")  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = (data.get(name) for name in self.period)
        if start and end and end < start:
            raise forms.ValidationError("The period ends before it starts.")
        return data

    def as_arguments(self) -> dict[str, Any]:
        """The cleaned filters as the report function's keyword arguments (all unset when unbound)."""
        data: dict[str, Any] = dict(self.cleaned_data) if self.is_bound else {}
        organisation = data.pop("organisation", None)
        return {
            **{name: data.get(name) for name in self.period},
            **data,
            "organisation_id": getattr(organisation, "pk", None),
        }


class ComplianceForm(ReportFilterForm):
    group_by = forms.MultipleChoiceField(
        choices=[(name, label) for name, (_, label) in DIMENSIONS.items()],
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        label="Group by",
    )
    opened_from = forms.DateField(required=False, widget=forms.DateInput(attrs=DATE), label="Opened from")
    opened_until = forms.DateField(required=False, widget=forms.DateInput(attrs=DATE), label="Opened until")
    period = ("opened_from", "opened_until")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data["group_by"] = tuple(data.get("group_by") or DEFAULT_GROUPING)
        return data


class TierMetricsForm(ReportFilterForm):
    resolved_from = forms.DateField(required=False, widget=forms.DateInput(attrs=DATE), label="Resolved from")
    resolved_until = forms.DateField(required=False, widget=forms.DateInput(attrs=DATE), label="Resolved until")
    period = ("resolved_from", "resolved_until")


class Tier0MetricsForm(ReportFilterForm):
    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs=DATE), label="From")
    date_until = forms.DateField(required=False, widget=forms.DateInput(attrs=DATE), label="Until")
    period = ("date_from", "date_until")
