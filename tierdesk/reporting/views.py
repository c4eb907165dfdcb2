"""Report pages for agents: SLA compliance as a table and as a CSV download; tier metrics; Tier 0."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.core.views import agent_required
from tierdesk.reporting.forms import ComplianceForm, ReportFilterForm, Tier0MetricsForm, TierMetricsForm
from tierdesk.reporting.sla_compliance import DEFAULT_GROUPING, DIMENSIONS, ComplianceRow, as_csv, sla_compliance
from tierdesk.reporting.tier0_metrics import tier0_metrics
from tierdesk.reporting.tier_metrics import tier_metrics


def _report(request: HttpRequest) -> tuple[ComplianceForm, list[ComplianceRow], tuple[str, ...]]:
    actor = Actor.from_request(request)
    form = ComplianceForm(request.GET or None, actor=actor, initial={"group_by": list(DEFAULT_GROUPING)})
    if request.GET and not form.is_valid():
        return form, [], DEFAULT_GROUPING
    filters = form.as_arguments()
    grouping = filters.pop("group_by", None) or DEFAULT_GROUPING
    return form, sla_compliance(actor, grouping=grouping, **filters), grouping


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


def _metrics_page(
    request: HttpRequest, form_class: type[ReportFilterForm], compute: Callable[..., Any], template: str
) -> HttpResponse:
    """A report page with filters: figures for the filters given (all of them when none are)."""
    actor = Actor.from_request(request)
    form = form_class(request.GET or None, actor=actor)
    metrics = compute(actor, **form.as_arguments()) if not request.GET or form.is_valid() else None
    return render(request, template, {"nav": "reports", "form": form, "metrics": metrics})


@agent_required
@require_GET
def tier_report(request: HttpRequest) -> HttpResponse:
    return _metrics_page(request, TierMetricsForm, tier_metrics, "reporting/tiers.html")


@agent_required
@require_GET
def tier0_report(request: HttpRequest) -> HttpResponse:
    return _metrics_page(request, Tier0MetricsForm, tier0_metrics, "reporting/tier0.html")
