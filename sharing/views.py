"""Sharing pages: access requests, the owners' inbox and shares, invitations, notifications, the audit trail.

Every view authorises before it validates or looks anything up: the access
helpers of `sharing.selectors` (and the catalog's visibility gate) answer 404
for what the user cannot see and 403 for what they see but may not change.
The writes are `sharing.services` calls; a `SharingError` becomes a message on
the form (or on the page), and nothing half-done is left behind.
"""

from __future__ import annotations

import uuid
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from catalog.models import AwsAccount, FeatureGroup, Membership, user_sees_everything
from catalog.selectors.accounts import account_pks_seen, get_account_for_user
from catalog.views.groups import get_feature_group_for_user
from identity.selectors import audit_events
from portal.audit import audit_action_label
from portal.csv_export import audit_events_csv
from portal.models import AuditEvent
from sharing import forms, selectors, services
from sharing.audit_actions import SHARING_ACTIONS
from sharing.models import AccessRequest, Grant, Invitation, SharingPolicy
from sharing.services import SharingError
from sharing.services.common import is_account_admin, is_owner
from sharing.visibility import visibility_scope


def _form_error(form, exc: SharingError) -> None:
    """The service's message on the field it names (or on the whole form)."""
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


# --- governance: the sharing audit trail -------------------------------------------


def governance_required(view):
    """Signed in, then governance and operators only (403 for everyone else, before anything is looked up)."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not user_sees_everything(request.user):
            raise PermissionDenied("Only governance and operators read the sharing audit trail.")
        return view(request, *args, **kwargs)

    return wrapper


def _sharing_audit_filtered(request: HttpRequest):
    form = forms.SharingAuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    events = audit_events(
        action=filters.get("action") or "",
        actor=filters.get("actor") or "",
        account=filters.get("account") or "",
        query=filters.get("q") or "",
        since=filters.get("since"),
        until=filters.get("until"),
    )
    events = events.filter(action__in=list(SHARING_ACTIONS))
    if form.is_bound and not form.is_valid():
        events = events.none()
    return form, events


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@governance_required
@require_GET
def sharing_audit(request: HttpRequest) -> HttpResponse:
    form, events = _sharing_audit_filtered(request)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    for event in page.object_list:
        event.action_label = audit_action_label(event.action)
    return render(
        request, "sharing/audit_list.html", {"form": form, "page": page, "query": _query_without_page(request)}
    )


@governance_required
@require_GET
def sharing_audit_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered trail as CSV, streamed; every cell formula-safe."""
    _form, events = _sharing_audit_filtered(request)
    return audit_events_csv(events, filename=f"pantry-sharing-audit-{timezone.now():%Y%m%d-%H%M}.csv", source_ip=False)


# --- data scientists: asking for access ------------------------------------------------


@login_required
@require_GET
def seen_list(request: HttpRequest) -> HttpResponse:
    groups = selectors.groups_seen_not_readable(request.user)
    page = Paginator(groups, 50).get_page(request.GET.get("page"))
    # The user's open request per group on this page, in one query.
    open_requests = {
        r.feature_group_id: r
        for r in AccessRequest.objects.filter(
            requester=request.user,
            feature_group__in=[g.pk for g in page.object_list],
            state__in=AccessRequest.OPEN_STATES,
        ).order_by("created_at")
    }
    for group in page.object_list:
        group.open_request = open_requests.get(group.pk)
    return render(request, "sharing/seen_list.html", {"page": page, "query": _query_without_page(request)})


@login_required
@require_http_methods(["GET", "POST"])
def request_create(request: HttpRequest, group_uuid) -> HttpResponse:
    # Visibility first (404), then the right to ask (403), then the form.
    group = get_feature_group_for_user(request.user, group_uuid)
    if not selectors.can_request_access(request.user, group):
        raise PermissionDenied("You cannot request access to this group from any of your accounts.")
    policy = SharingPolicy.for_account(group.account)
    accounts = selectors.request_accounts_for(request.user, group)
    form = forms.AccessRequestForm(request.POST or None, accounts=accounts, policy=policy, today=timezone.localdate())
    if request.method == "POST" and form.is_valid():
        done = _request_submit(
            request,
            form,
            level=form.cleaned_data["level"],
            success=f"Asked {group.account.name}'s owners for access to {group.name}. "
            "You will be notified of their decision.",
            feature_group=group,
        )
        if done:
            return done
    return render(request, "sharing/request_form.html", {"group": group, "form": form, "policy": policy})


def _request_submit(request: HttpRequest, form, *, level: str, success: str, **target) -> HttpResponse | None:
    """Create the request a valid form describes and redirect to it; None with the refusal on the form."""
    data = form.cleaned_data
    try:
        access_request = services.access_request_create(
            user=request.user,
            consumer_account=data["consumer_account"],
            level=level,
            reason=data["reason"],
            ends_on=data["ends_on"],
            terms_accepted=bool(data.get("terms_accepted")),
            **target,
        )
    except SharingError as exc:
        _form_error(form, exc)
        return None
    messages.success(request, success)
    return redirect(reverse("sharing:request_detail", args=[access_request.uuid]))


@login_required
@require_http_methods(["GET", "POST"])
def catalog_request_create(request: HttpRequest, account_uuid, region: str) -> HttpResponse:
    """Ask to discover every group of an owner account in one region (its catalog shared for search)."""
    user = request.user
    # The account must be one the user already sees named (a group of it is visible to them): 404 otherwise.
    seen = account_pks_seen(scope=visibility_scope(user))
    account = AwsAccount.objects.filter(uuid=account_uuid).first()
    if account is None or (seen is not None and account.pk not in seen) or not account.is_owner:
        raise Http404("No such account.")
    if region not in account.regions:
        raise Http404("No such catalog.")
    accounts = selectors.request_accounts_for(user).exclude(pk=account.pk)
    if not accounts.exists():
        raise PermissionDenied("You belong to no other account to ask for.")
    policy = SharingPolicy.for_account(account)
    form = forms.AccessRequestForm(
        request.POST or None, accounts=accounts, policy=policy, today=timezone.localdate(), catalog=True
    )
    if request.method == "POST" and form.is_valid():
        done = _request_submit(
            request,
            form,
            level=Grant.Permission.DISCOVER,
            success=f"Asked {account.name}'s owners to make their catalog in {region} discoverable.",
            owner_account=account,
            region=region,
        )
        if done:
            return done
    return render(
        request,
        "sharing/request_form.html",
        {"group": None, "account": account, "region": region, "form": form, "policy": policy},
    )


@login_required
@require_GET
def request_list(request: HttpRequest) -> HttpResponse:
    requests = selectors.requests_of_requester(request.user)
    page = Paginator(requests, 50).get_page(request.GET.get("page"))
    return render(request, "sharing/request_list.html", {"page": page, "query": _query_without_page(request)})


def _request_context(request: HttpRequest, access_request, *, approve_form=None, reject_form=None) -> dict:
    user = request.user
    is_requester = access_request.requester_id == user.pk
    is_decider = is_owner(user, access_request.owner_account)
    pending = access_request.state == AccessRequest.State.PENDING
    events = list(
        AuditEvent.objects.filter(object_id=str(access_request.uuid), action__startswith="access_request.").order_by(
            "at", "id"
        )[:100]
    )
    for event in events:
        event.action_label = audit_action_label(event.action)
    return {
        "access_request": access_request,
        "is_requester": is_requester,
        "is_decider": is_decider,
        # Nobody decides their own request: the forms are not even offered (the service refuses too).
        "own_request": is_requester and is_decider and pending,
        "may_decide": is_decider and not is_requester and pending,
        "may_retry": (is_decider or is_requester) and access_request.state == AccessRequest.State.FAILED,
        "may_withdraw": is_requester and pending,
        "approve_form": approve_form or forms.ApproveForm(access_request=access_request),
        "reject_form": reject_form or forms.RejectForm(),
        "events": events,
    }


@login_required
@require_GET
def request_detail(request: HttpRequest, request_uuid) -> HttpResponse:
    access_request = selectors.get_access_request_for_user(request.user, request_uuid)
    return render(request, "sharing/request_detail.html", _request_context(request, access_request))


@login_required
@require_POST
def request_withdraw(request: HttpRequest, request_uuid) -> HttpResponse:
    access_request = selectors.get_access_request_for_user(request.user, request_uuid)
    try:
        services.access_request_withdraw(access_request=access_request, user=request.user)
    except SharingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Withdrew the request.")
    return redirect("sharing:requests_mine")


@login_required
@require_POST
def request_approve(request: HttpRequest, request_uuid) -> HttpResponse:
    access_request = selectors.get_access_request_to_decide(request.user, request_uuid)
    form = forms.ApproveForm(request.POST, access_request=access_request)
    if form.is_valid():
        try:
            services.access_request_approve(
                access_request=access_request,
                approver=request.user,
                level=form.cleaned_data["level"],
                ends_on=form.cleaned_data["ends_on"],
                note=form.cleaned_data["note"],
            )
        except SharingError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Approved. Pantry is creating the AWS RAM share; the requester will be told.")
            return redirect("sharing:requests_inbox")
    context = _request_context(request, access_request, approve_form=form)
    return render(request, "sharing/request_detail.html", context, status=400)


@login_required
@require_POST
def request_reject(request: HttpRequest, request_uuid) -> HttpResponse:
    access_request = selectors.get_access_request_to_decide(request.user, request_uuid)
    form = forms.RejectForm(request.POST)
    if form.is_valid():
        try:
            services.access_request_reject(
                access_request=access_request, approver=request.user, note=form.cleaned_data["note"]
            )
        except SharingError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Rejected; the requester will see your note.")
            return redirect("sharing:requests_inbox")
    context = _request_context(request, access_request, reject_form=form)
    return render(request, "sharing/request_detail.html", context, status=400)


@login_required
@require_POST
def request_retry(request: HttpRequest, request_uuid) -> HttpResponse:
    access_request = selectors.get_access_request_for_user(request.user, request_uuid)
    try:  # The service answers 403 to those who only read the request.
        services.access_request_retry(access_request=access_request, actor=request.user)
    except SharingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Trying again to create the AWS RAM share.")
    return redirect("sharing:request_detail", request_uuid=access_request.uuid)


# --- owners: inbox, shares and grants, direct shares, policy -----------------------------


@login_required
@require_GET
def request_inbox(request: HttpRequest) -> HttpResponse:
    requests = selectors.requests_inbox(request.user)
    page = Paginator(requests, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "sharing/request_inbox.html",
        {
            "page": page,
            "query": _query_without_page(request),
            "accounts": AwsAccount.objects.filter(
                memberships__user=request.user, memberships__role=Membership.Role.OWNER
            ).order_by("name"),
        },
    )


def _account_for_sharing(user, account_uuid, *, manage: bool) -> AwsAccount:
    """The account if the user may see it (404 otherwise); with `manage`, only its owners (403 otherwise)."""
    account = get_account_for_user(user=user, account_uuid=account_uuid)
    owner = selectors.can_manage_account(user, account)
    if manage and not owner:
        raise PermissionDenied("Only the account's owners share its feature groups and set its policy.")
    if not manage and not (owner or user_sees_everything(user)):
        raise PermissionDenied("Only the account's owners, governance and operators see its shares.")
    return account


@login_required
@require_GET
def account_index(request: HttpRequest) -> HttpResponse:
    """Accounts whose sharing the user looks after (owners) or oversees (governance, operators)."""
    accounts = selectors.owned_accounts(request.user).order_by("name")
    admin_accounts = _admin_accounts(request.user)
    return render(request, "sharing/account_index.html", {"accounts": accounts, "admin_accounts": admin_accounts})


@login_required
@require_GET
def account_sharing(request: HttpRequest, account_uuid) -> HttpResponse:
    account = _account_for_sharing(request.user, account_uuid, manage=False)
    context = {
        "account": account,
        "shares": selectors.shares_of_account(request.user, account),
        "grants": selectors.grants_of_account(request.user, account),
        "policy": SharingPolicy.for_account(account),
        "can_manage": selectors.can_manage_account(request.user, account),
        # RAM invitations this account sent that are still open or expired: its owners may re-send.
        "invitations_sent": selectors.invitation_details(
            Invitation.objects.filter(
                sender_account_id=account.account_id,
                status__in=[Invitation.Status.PENDING, Invitation.Status.EXPIRED],
            )
            .select_related("receiver_account", "share", "share__owner_account", "answered_by")
            .prefetch_related("share__grants__feature_group")
            .order_by("-invited_at", "-id")[:100]
        ),
    }
    return render(request, "sharing/account_sharing.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def share_create(request: HttpRequest, account_uuid) -> HttpResponse:
    account = _account_for_sharing(request.user, account_uuid, manage=True)
    consumers = AwsAccount.objects.exclude(pk=account.pk).order_by("name")
    groups = FeatureGroup.objects.filter(account=account).live().order_by("region", "name")
    form = forms.ShareForm(request.POST or None, owner_account=account, consumers=consumers, groups=groups)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.share_create(
                actor=request.user,
                owner_account=account,
                consumer_account=data["consumer_account"],
                region=data["region"],
                level=data["level"],
                feature_groups=tuple(data["feature_groups"]),
                catalog=data["catalog"],
                ends_on=data["ends_on"],
            )
        except SharingError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"Shared with {data['consumer_account'].name} through AWS RAM.")
            return redirect("sharing:account_sharing", account_uuid=account.uuid)
    return render(request, "sharing/share_form.html", {"account": account, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def policy_edit(request: HttpRequest, account_uuid) -> HttpResponse:
    account = _account_for_sharing(request.user, account_uuid, manage=True)
    policy = SharingPolicy.for_account(account)
    form = forms.SharingPolicyForm(
        request.POST or None,
        initial={"terms_of_use": policy.terms_of_use, "default_days": policy.default_days, "max_days": policy.max_days},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.sharing_policy_update(account=account, actor=request.user, **form.cleaned_data)
        except SharingError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"Saved {account.name}'s sharing policy.")
            return redirect("sharing:account_sharing", account_uuid=account.uuid)
    return render(request, "sharing/policy_form.html", {"account": account, "form": form})


@login_required
@require_POST
def grant_revoke(request: HttpRequest, grant_uuid) -> HttpResponse:
    grant = selectors.get_grant_to_revoke(request.user, grant_uuid)
    form = forms.RevokeForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        services.grant_revoke(grant=grant, actor=request.user, note=note)
    except SharingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Revoked. Pantry is removing it from the AWS RAM share.")
    return redirect("sharing:account_sharing", account_uuid=grant.owner_account.uuid)


@login_required
@require_POST
def grant_revoke_suggest(request: HttpRequest, grant_uuid) -> HttpResponse:
    """Governance asks the owners to revoke a grant (the usage pages' unused grants); owners revoke."""
    if not user_sees_everything(request.user):
        raise Http404
    grant = get_object_or_404(Grant.objects.select_related("owner_account", "consumer_account"), uuid=grant_uuid)
    told = services.grant_revoke_suggest(grant=grant, actor=request.user, note=request.POST.get("note", ""))
    if told:
        messages.success(
            request, f"Asked {told} owner{'s' if told != 1 else ''} of {grant.owner_account.name} to revoke it."
        )
    else:
        messages.info(request, "Nobody was asked: the grant has ended, or its account has no owners in Pantry.")
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(next_url)
    return redirect("sharing:account_sharing", account_uuid=grant.owner_account.uuid)


# --- consumer account admins: invitations ------------------------------------------------


def _admin_accounts(user):
    return (
        AwsAccount.objects.filter(memberships__user=user, memberships__role=Membership.Role.ACCOUNT_ADMIN)
        .distinct()
        .order_by("name")
    )


@login_required
@require_GET
def invitation_inbox(request: HttpRequest) -> HttpResponse:
    accounts = list(_admin_accounts(request.user))
    members = (
        Membership.objects.filter(account__in=accounts)
        .select_related("user", "account")
        .order_by("account__name", "user__username")
    )
    return render(
        request,
        "sharing/invitation_inbox.html",
        {
            "invitations": selectors.invitation_details(selectors.invitations_inbox(request.user)),
            "accounts": accounts,
            "members": members,
        },
    )


def _invitation_action(request: HttpRequest, invitation_uuid, service, done: str) -> HttpResponse:
    invitation = selectors.get_invitation_for_admin(request.user, invitation_uuid)
    try:
        service(invitation=invitation, actor=request.user)
    except SharingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    if is_account_admin(request.user, invitation.receiver_account):
        return redirect("sharing:invitation_inbox")
    # The sending account's owners re-send from their account's sharing page.
    sender = AwsAccount.objects.filter(account_id=invitation.sender_account_id).first()
    return (
        redirect("sharing:account_sharing", account_uuid=sender.uuid)
        if sender
        else redirect("sharing:invitation_inbox")
    )


@login_required
@require_POST
def invitation_accept(request: HttpRequest, invitation_uuid) -> HttpResponse:
    return _invitation_action(
        request, invitation_uuid, services.invitation_accept, "Accepted: the share is active for your account."
    )


@login_required
@require_POST
def invitation_reject(request: HttpRequest, invitation_uuid) -> HttpResponse:
    return _invitation_action(request, invitation_uuid, services.invitation_reject, "Rejected the invitation.")


@login_required
@require_POST
def invitation_resend(request: HttpRequest, invitation_uuid) -> HttpResponse:
    return _invitation_action(
        request, invitation_uuid, services.invitation_resend, "Asked the owner account to send the invitation again."
    )


# --- everyone: notifications ---------------------------------------------------------------


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    notifications = selectors.notifications_of(request.user)
    page = Paginator(notifications, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "sharing/notification_list.html",
        {
            "page": page,
            "query": _query_without_page(request),
            "unread": selectors.notifications_unread_count(request.user),
        },
    )


@login_required
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    uuids = []
    for value in request.POST.getlist("notification"):
        try:
            uuids.append(uuid.UUID(value))
        except ValueError:
            raise BadRequest("Not a notification id.") from None
    services.notifications_mark_read(user=request.user, uuids=uuids or None)
    return redirect("sharing:notification_list")
