"""Report pages for agents: SLA compliance as a table and as a CSV download; tier metrics; Tier 0."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.core.views import agent_required
from tierdesk.reporting.forms import ComplianceForm, Tier0MetricsForm, TierMetricsForm
from tierdesk.reporting.sla_compliance import DEFAULT_GROUPING, DIMENSIONS, ComplianceRow, as_csv, sla_compliance
from tierdesk.reporting.tier0_metrics import tier0_metrics
from tierdesk.reporting.tier_metrics import tier_metrics


def _report(request: HttpRequest) -> tuple[ComplianceForm, list[ComplianceRow], tuple[str, ...]]:
    actor = Actor.from_request(request)
    form = ComplianceForm(request.GET or None, actor=actor, initial={"group_by": list(DEFAULT_GROUPING)})
    if request.GET and not form.is_valid():
        return form, [], DEFAULT_GROUPING
    data: dict[str, Any] = form.cleaned_data if request.GET else {"group_by": DEFAULT_GROUPING}
    organisation = data.get("organisation")
    rows = sla_compliance(
        actor,
        grouping=data["group_by"],
        opened_from=data.get("opened_from"),
        opened_until=data.get("opened_until"),
        organisation_id=organisation.pk if organisation else None,
    )
    return form, rows, data["group_by"]


@agent_required
@require_GET
def sla_report(request: HttpRequest) -> HttpResponse:
    form, rows, grouping = _report(request)
    return render(
        request,
        "reporting/sla.html",
        {
            "nav": "reports",
            "form": form,
            "rows": rows,
            "grouping": [(name, DIMENSIONS[name][1]) for name in grouping],
            "query": request.GET.urlencode(),
        },
    )


@agent_required
@require_GET
def sla_report_csv(request: HttpRequest) -> HttpResponse:
    form, rows, grouping = _report(request)
    if request.GET and not form.is_valid():
        return HttpResponse(form.errors.as_text(), status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(as_csv(rows, grouping), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="sla-compliance-{clock.now():%Y%m%d}.csv"'
    return response


@agent_required
@require_GET
def tier_report(request: HttpRequest) -> HttpResponse:
    actor = Actor.from_request(request)
    form = TierMetricsForm(request.GET or None, actor=actor)
    metrics = None
    if not request.GET or form.is_valid():
        data: dict[str, Any] = form.cleaned_data if request.GET else {}
        organisation = data.get("organisation")
        metrics = tier_metrics(
            actor,
            resolved_from=data.get("resolved_from"),
            resolved_until=data.get("resolved_until"),
            organisation_id=organisation.pk if organisation else None,
        )
    return render(request, "reporting/tiers.html", {"nav": "reports", "form": form, "metrics": metrics})


@agent_required
@require_GET
def tier0_report(request: HttpRequest) -> HttpResponse:
    actor = Actor.from_request(request)
    form = Tier0MetricsForm(request.GET or None, actor=actor)
    metrics = None
    if not request.GET or form.is_valid():
        data: dict[str, Any] = form.cleaned_data if request.GET else {}
        organisation = data.get("organisation")
        metrics = tier0_metrics(
            actor,
            date_from=data.get("date_from"),
            date_until=data.get("date_until"),
            organisation_id=organisation.pk if organisation else None,
        )
    return render(request, "reporting/tier0.html", {"nav": "reports", "form": form, "metrics": metrics})
