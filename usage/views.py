"""Usage pages: governance's dashboard and grants-vs-use, and operators' trail sources.

Authorisation comes first on every view (governance and operators for the
organisation-wide pages, operators for trail sources), before the query is
validated or anything is looked up; bad filters are a 400 with the form's
errors, never a silently wider result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from catalog.selectors.aws_setup import trail_role_setup
from identity.permissions import is_operator
from portal.csv_export import csv_response
from usage import selectors, services
from usage.forms import GrantsWindowForm, ReplayForm, TrailSourceForm, UsageFilterForm
from usage.models import TrailSource


def _require_org_usage(user) -> None:
    if not selectors.can_see_org_usage(user):
        raise PermissionDenied


def _require_operator(user) -> None:
    if not is_operator(user):
        raise PermissionDenied


# --- the governance dashboard ---------------------------------------------------------------------


# name -> (title, chart type, stacked, horizontal, selector)
CHARTS: dict[str, tuple[str, str, bool, bool, Callable]] = {
    "calls-per-day": ("Calls per day by operation", "bar", True, False, selectors.usage_calls_per_day),
    "reads-writes": ("Reads and writes per day", "line", False, False, selectors.usage_reads_vs_writes),
    "top-groups": ("Top feature groups", "bar", False, True, selectors.usage_top_groups),
    "top-consumers": ("Top consumer accounts", "bar", False, True, selectors.usage_top_consumers),
    "top-principals": ("Top principals", "bar", False, True, selectors.usage_top_principals),
    "denied": ("Denied calls: who tried what", "bar", False, True, selectors.usage_denied_summary),
    "sharing": ("Requests, approvals and shares per day", "bar", True, False, None),
}


PER_DAY = {"calls-per-day", "reads-writes"}
TOPS = {"top-groups", "top-consumers"}


def _series(
    name: str,
    scope: selectors.UsageScope,
    filters: selectors.UsageFilters,
    breakdown: list[dict] | None = None,
    tops: selectors.UsageTops | None = None,
) -> selectors.Series:
    fn = CHARTS[name][4]
    if fn is None:
        return selectors.sharing_activity_per_day(filters=filters)
    if name in PER_DAY:
        return fn(scope=scope, filters=filters, breakdown=breakdown)
    if name in TOPS:
        return fn(scope=scope, filters=filters, tops=tops)
    return fn(scope=scope, filters=filters)


def _filtered(request: HttpRequest) -> tuple[UsageFilterForm, selectors.UsageScope, selectors.UsageFilters | None]:
    scope = selectors.usage_scope(request.user)
    # The fields show the range in effect (the last 30 days unless asked otherwise).
    data = request.GET.copy()
    default = selectors.UsageFilters.last_days()
    if not data.get("end"):
        data["end"] = default.end.isoformat()
    if not data.get("start") and not request.GET.get("end"):
        data["start"] = default.start.isoformat()
    form = UsageFilterForm(data, scope=scope)
    return form, scope, form.filters() if form.is_valid() else None


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    _require_org_usage(request.user)
    form, scope, filters = _filtered(request)
    today = timezone.localdate()
    context = {
        "form": form,
        "accounts": selectors.accounts_for_filters(),
        "query": request.GET.urlencode(),
        "quick_ranges": [(days, (today - timedelta(days=days - 1)).isoformat()) for days in (7, 30, 60, 90)],
    }
    if filters is None:
        return render(request, "usage/dashboard.html", context, status=400)
    charts = []
    island = {}
    # One pass over the window for the per-day charts and the totals.
    breakdown = selectors.usage_day_breakdown(scope=scope, filters=filters)
    # And one for the top groups and consumers.
    tops = selectors.usage_tops(scope=scope, filters=filters)
    for name, (title, kind, stacked, horizontal, _fn) in CHARTS.items():
        series = _series(name, scope, filters, breakdown, tops)
        charts.append({"name": name, "title": title, "series": series})
        island[name] = {**series.chart(), "type": kind, "stacked": stacked, "horizontal": horizontal, "title": title}
    context.update(
        {
            "filters": filters,
            **{"chart_" + c["name"].replace("-", "_"): c for c in charts},
            "chart_data": island,
            "outcomes": selectors.usage_outcomes(scope=scope, filters=filters, breakdown=breakdown),
            "denied_events": selectors.usage_denied_events(scope=scope, filters=filters),
        }
    )
    return render(request, "usage/dashboard.html", context)


def _csv_columns(name: str, series: selectors.Series) -> tuple[list[str], Iterator[list]]:
    rows = series.rows
    if name in ("calls-per-day", "sharing"):
        keys = list(series.datasets)
        header = ["day", *keys] + (["total"] if name == "calls-per-day" else [])
        return header, (
            [r["day"].isoformat(), *[r[k] for k in keys]] + ([r["total"]] if name == "calls-per-day" else [])
            for r in rows
        )
    if name == "reads-writes":
        return ["day", "reads", "writes"], ([r["day"].isoformat(), r["reads"], r["writes"]] for r in rows)
    if name == "top-groups":
        return ["feature_group", "arn", "calls", "consumer_accounts"], (
            [r["label"], r["arn"], r["calls"], r["accounts"]] for r in rows
        )
    if name == "top-consumers":
        return ["account_id", "account_name", "calls", "feature_groups"], (
            [r["account_id"], r["name"], r["calls"], r["groups"]] for r in rows
        )
    if name == "top-principals":
        return ["principal_arn", "account_id", "calls", "feature_groups"], (
            [r["principal_arn"], r["account_id"], r["calls"], r["groups"]] for r in rows
        )
    return ["principal_arn", "account_id", "feature_group", "arn", "operation", "denied_calls", "last_day"], (
        [
            r["principal_arn"],
            r["consumer_account_id"],
            r["group_label"],
            r["feature_group_arn"],
            r["operation"],
            r["calls"],
            r["last_day"].isoformat(),
        ]
        for r in rows
    )


@login_required
@require_GET
def dashboard_csv(request: HttpRequest, chart: str) -> HttpResponse:
    """One chart's table as CSV, with the dashboard's filters; cells are formula-safe."""
    _require_org_usage(request.user)
    if chart not in CHARTS:
        raise Http404("No such chart.")
    form, scope, filters = _filtered(request)
    if filters is None:
        errors = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in form.errors.items())
        return HttpResponse(f"Bad filters: {errors}\n", status=400, content_type="text/plain; charset=utf-8")
    header, rows = _csv_columns(chart, _series(chart, scope, filters))
    return csv_response(header, rows, filename=f"pantry-usage-{chart}-{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.csv")


# --- grants vs use --------------------------------------------------------------------------------


def revoke_link(grant) -> tuple[str, str]:
    """Where one click starts revoking a grant: governance asks the account's owners (they are
    notified with a link to the grant; only owners revoke). Returns (form action, button label)."""
    return reverse("sharing:grant_revoke_suggest", args=[grant.uuid]), "Ask the owners to revoke"


@login_required
@require_GET
def grants_usage(request: HttpRequest) -> HttpResponse:
    _require_org_usage(request.user)
    form = GrantsWindowForm(request.GET if "days" in request.GET else {"days": selectors.DEFAULT_DAYS})
    if not form.is_valid():
        return render(request, "usage/grants.html", {"form": form}, status=400)
    report = selectors.grants_vs_use(days=form.window())
    for row in report.unused:
        row["revoke_url"], row["revoke_label"] = revoke_link(row["grant"])
    return render(request, "usage/grants.html", {"form": form, "report": report})


# --- trail sources (operators) --------------------------------------------------------------------


@login_required
@require_GET
def source_list(request: HttpRequest) -> HttpResponse:
    _require_operator(request.user)
    sources = selectors.trail_sources_health()
    context = {"sources": sources, "polling": True}
    if request.headers.get("HX-Request"):
        return render(request, "usage/source_list.html#sources", context)
    return render(request, "usage/source_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def source_create(request: HttpRequest) -> HttpResponse:
    _require_operator(request.user)
    form = TrailSourceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        source = services.trail_source_create(actor=request.user, **form.source_fields())
        messages.success(request, f"Added the trail source {source.name}. Pantry lists it at the next ingestion run.")
        return redirect("usage:source_detail", source_uuid=source.uuid)
    return render(request, "usage/source_form.html", {"form": form, "source": None})


def _source(source_uuid) -> TrailSource:
    return get_object_or_404(TrailSource, uuid=source_uuid)


@login_required
@require_http_methods(["GET", "POST"])
def source_edit(request: HttpRequest, source_uuid) -> HttpResponse:
    _require_operator(request.user)
    source = _source(source_uuid)
    form = TrailSourceForm(request.POST or None, instance=source)
    if request.method == "POST" and form.is_valid():
        source = services.trail_source_update(actor=request.user, source=source, **form.source_fields())
        messages.success(request, f"Saved {source.name}.")
        return redirect("usage:source_detail", source_uuid=source.uuid)
    return render(request, "usage/source_form.html", {"form": form, "source": source})


@login_required
@require_GET
def source_detail(request: HttpRequest, source_uuid) -> HttpResponse:
    _require_operator(request.user)
    source = _source(source_uuid)
    replay_form = ReplayForm(initial={"start": timezone.localdate(), "end": timezone.localdate()})
    context = _detail_context(source, replay_form)
    if request.headers.get("HX-Request"):
        return render(request, "usage/source_detail.html#health", context)
    context["setup"] = trail_role_setup(source=source)
    return render(request, "usage/source_detail.html", context)


def _detail_context(source: TrailSource, replay_form: ReplayForm) -> dict:
    return {
        "source": source,
        "health": selectors.trail_source_health(source=source),
        "quarantined": selectors.trail_files_quarantined(source=source),
        "replay_form": replay_form,
    }


@login_required
@require_POST
def source_delete(request: HttpRequest, source_uuid) -> HttpResponse:
    _require_operator(request.user)
    source = _source(source_uuid)
    services.trail_source_delete(actor=request.user, source=source)
    messages.success(request, f"Removed the trail source {source.name}. Usage already counted stays.")
    return redirect("usage:source_list")


@login_required
@require_POST
def source_replay(request: HttpRequest, source_uuid) -> HttpResponse:
    _require_operator(request.user)
    source = _source(source_uuid)
    form = ReplayForm(request.POST)
    if not form.is_valid():
        context = {**_detail_context(source, form), "setup": trail_role_setup(source=source)}
        return render(request, "usage/source_detail.html", context, status=400)
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    # The listing runs in a worker: a request thread never waits on S3.
    services.trail_files_replay_request(actor=request.user, source=source, start=start, end=end)
    messages.success(request, f"Replay of {start:%Y-%m-%d} to {end:%Y-%m-%d} queued; progress shows below.")
    return redirect("usage:source_detail", source_uuid=source.uuid)
