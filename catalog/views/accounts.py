from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods, require_POST

from catalog import permissions
from catalog.forms import AwsAccountForm, SyncRequestForm
from catalog.models import AwsAccount, SyncRun
from catalog.selectors import accounts as selectors
from catalog.selectors import aws_setup
from catalog.services import account_audit
from catalog.services import accounts as account_services
from catalog.services import sync as services
from usage import selectors as usage_selectors


def _get_sync_run_for_user(user, run_uuid) -> SyncRun:
    return get_object_or_404(selectors.sync_runs_visible_to(user=user), uuid=run_uuid)


@login_required
def account_list(request: HttpRequest) -> HttpResponse:
    accounts = selectors.accounts_visible_to(user=request.user)
    health = selectors.account_health_list(accounts=accounts)
    return render(
        request,
        "catalog/account_list.html",
        {"health": health, "can_manage": permissions.can_manage_accounts(request.user)},
    )


@login_required
def account_detail(request: HttpRequest, account_uuid) -> HttpResponse:
    account = selectors.get_account_for_user(user=request.user, account_uuid=account_uuid)
    health = selectors.account_health_list(accounts=AwsAccount.objects.filter(pk=account.pk))[0]
    runs = account.sync_runs.select_related("requested_by")[:20]
    return render(
        request,
        "catalog/account_detail.html",
        {
            "account": account,
            "health": health,
            "runs": runs,
            "can_sync": account.is_owner and permissions.can_trigger_sync(request.user, account),
            "can_manage": permissions.can_manage_accounts(request.user),
            "setup": (
                aws_setup.account_role_setup(account=account)
                if permissions.can_see_account_setup(request.user, account)
                else None
            ),
            # The owner side (its owners and admins, governance, operators) sees who uses its groups.
            "consumers": (
                usage_selectors.account_consumers(account=account)
                if account.is_owner and usage_selectors.can_see_account_consumers(request.user, account)
                else None
            ),
            "usage_days": usage_selectors.DEFAULT_DAYS,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_create(request: HttpRequest) -> HttpResponse:
    if not permissions.can_manage_accounts(request.user):
        raise PermissionDenied
    form = AwsAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account = account_services.account_register(
                registered_by=request.user, trigger=SyncRun.Trigger.MANUAL, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            queued = account.sync_runs.exists()
            messages.success(request, f"Registered {account.name}." + (" Its first sync is queued." if queued else ""))
            return redirect(account)
    return render(request, "catalog/account_form.html", {"form": form, "account": None})


@login_required
@require_http_methods(["GET", "POST"])
def account_edit(request: HttpRequest, account_uuid) -> HttpResponse:
    if not permissions.can_manage_accounts(request.user):
        # Outsiders learn nothing about which accounts exist.
        selectors.get_account_for_user(user=request.user, account_uuid=account_uuid)
        raise PermissionDenied
    account = get_object_or_404(AwsAccount, uuid=account_uuid)
    form = AwsAccountForm(request.POST or None, instance=account)
    if request.method == "POST" and form.is_valid():
        try:
            account_services.account_update(account=account, updated_by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Saved {account.name}.")
            return redirect(account)
    return render(request, "catalog/account_form.html", {"form": form, "account": account})


@login_required
@require_POST
def account_sync(request: HttpRequest, account_uuid) -> HttpResponse:
    account = selectors.get_account_for_user(user=request.user, account_uuid=account_uuid)
    if not permissions.can_trigger_sync(request.user, account):
        raise PermissionDenied
    if not account.is_owner:
        messages.error(request, AwsAccount.NOT_SYNCED_REASON)
        return redirect(account)
    form = SyncRequestForm(request.POST, account=account)
    if not form.is_valid():
        messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
        return redirect(account)
    region = form.cleaned_data["region"] or None
    with transaction.atomic():
        runs = services.sync_request(
            account=account, region=region, trigger=SyncRun.Trigger.MANUAL, requested_by=request.user
        )
        account_audit.sync_requested_audit(account=account, runs=runs, actor=request.user, region=region)
    messages.success(request, f"Sync queued for {account.name}: {', '.join(r.region for r in runs)}.")
    return redirect("catalog:syncrun_list")


@login_required
def syncrun_list(request: HttpRequest) -> HttpResponse:
    runs = selectors.sync_runs_visible_to(user=request.user)
    status = request.GET.get("status", "")
    if status in SyncRun.Status.values:
        runs = runs.filter(status=status)
    page = Paginator(runs, 25).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "status": status,
        "statuses": SyncRun.Status.choices,
        "polling": any(r.is_active for r in page.object_list),
    }
    if request.headers.get("HX-Request"):
        return render(request, "catalog/syncrun_list.html#runs", context)
    return render(request, "catalog/syncrun_list.html", context)


@login_required
def syncrun_detail(request: HttpRequest, run_uuid) -> HttpResponse:
    run = _get_sync_run_for_user(request.user, run_uuid)
    context = {"run": run}
    if request.headers.get("HX-Request"):
        return render(request, "catalog/syncrun_detail.html#run", context)
    return render(request, "catalog/syncrun_detail.html", context)


urlpatterns = [
    path("aws-accounts/", account_list, name="account_list"),
    path("aws-accounts/new/", account_create, name="account_create"),
    path("aws-accounts/<uuid:account_uuid>/", account_detail, name="account_detail"),
    path("aws-accounts/<uuid:account_uuid>/edit/", account_edit, name="account_edit"),
    path("aws-accounts/<uuid:account_uuid>/sync/", account_sync, name="account_sync"),
    path("sync-runs/", syncrun_list, name="syncrun_list"),
    path("sync-runs/<uuid:run_uuid>/", syncrun_detail, name="syncrun_detail"),
]
