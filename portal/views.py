from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from catalog.selectors.groups import home_summary

logger = logging.getLogger(__name__)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html", home_summary(user=request.user))


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Database and broker reachability as JSON; 503 when either is down.

    Errors are reported by kind only: connection strings carry credentials
    and must never reach a page.
    """
    checks = {"database": _check_database(), "broker": _check_broker()}
    healthy = all(c["ok"] for c in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks}, status=200 if healthy else 503
    )


def _check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001 - health reports, never raises
        logger.warning("health: database unreachable: %s", type(exc).__name__)
        return {"ok": False, "error": type(exc).__name__}


def _check_broker() -> dict:
    from portal.celery import app

    try:
        # A fresh connection to the configured broker, not a pooled one that
        # may have been healthy a minute ago.
        with app.connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True, "transport": settings.CELERY_BROKER_URL.split("://", 1)[0]}
    except Exception as exc:  # noqa: BLE001
        logger.warning("health: broker unreachable: %s", type(exc).__name__)
        return {"ok": False, "error": type(exc).__name__}
