from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from catalog.selectors.groups import home_summary
from portal import health

logger = logging.getLogger(__name__)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html", home_summary(user=request.user))


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Database and broker reachability as JSON; 503 when either is down or slow (portal/health.py)."""
    return _probe_response(health.probes_run(health.HEALTH))


@never_cache
@require_GET
def livez(request: HttpRequest) -> JsonResponse:
    """The process is alive and serving: no database, no broker (a restart would not fix them)."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready for traffic: database reachable, every migration applied, broker answering; 503 otherwise."""
    return _probe_response(health.probes_run(health.READINESS))


def _probe_response(checks: dict[str, dict]) -> JsonResponse:
    healthy = all(c["ok"] for c in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks}, status=200 if healthy else 503
    )
