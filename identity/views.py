"""Pages: sign-in, personal API tokens, and the operators' people, memberships, role mappings and audit log.

Every operator page is behind `operator_required` (403 before anything is
looked up); a token is fetched only through `get_token_for_user` (its owner
or an operator, else 404).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from catalog.models import AwsAccount, Membership
from catalog.services import memberships as membership_services
from identity import forms, selectors
from identity.models import OidcIdentity, RoleMapping
from identity.oidc import oidc_enabled, oidc_provider_name
from identity.permissions import get_token_for_user, operator_required
from identity.services import mappings as mapping_services
from identity.services import people as people_services
from identity.services import tokens as token_services
from portal.audit import audit_action_label, audit_log
from portal.csv_export import audit_events_csv

User = get_user_model()
TOKEN_FORM_NONCES = "pantry_token_form_nonces"


def _errors_text(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return " ".join(m for msgs in exc.message_dict.values() for m in msgs)
    return " ".join(exc.messages)


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _form_errors_from(form, exc: ValidationError) -> None:
    for field, msgs in (exc.message_dict if hasattr(exc, "message_dict") else {None: exc.messages}).items():
        for message in msgs:
            form.add_error(field if field in form.fields else None, message)


# --- sign-in ---------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    """Local accounts (demo and break-glass), plus "Sign in with <IdP>" when OIDC is configured."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["oidc_enabled"] = oidc_enabled()
        context["oidc_provider_name"] = oidc_provider_name()
        return context

    def form_valid(self, form):
        if oidc_enabled():
            # With an identity provider in place, a password sign-in is break-glass: on the record.
            user = form.get_user()
            with transaction.atomic():
                audit_log(
                    actor=user,
                    action="auth.local_sign_in",
                    object_type="user",
                    object_id=user.get_username(),
                    object_label=user.get_full_name() or user.get_username(),
                    note="password sign-in while OIDC is configured",
                )
        return super().form_valid(form)


# --- personal API tokens ---------------------------------------------------------------


@login_required
@require_GET
def token_list(request: HttpRequest) -> HttpResponse:
    tokens = list(selectors.tokens_of(user=request.user))
    return render(
        request,
        "identity/token_list.html",
        {"tokens": tokens, "now": timezone.now(), "api_base": request.build_absolute_uri("/").rstrip("/")},
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def token_create(request: HttpRequest) -> HttpResponse:
    """Issue a token. The response that shows it is the only place it ever appears.

    Each form carries a one-time nonce, so a refreshed or double-submitted
    POST cannot issue (and silently lose) a second token.
    """
    max_days = settings.PANTRY_TOKEN_MAX_DAYS
    nonces: list[str] = request.session.get(TOKEN_FORM_NONCES, [])
    if request.method == "POST":
        nonce = request.POST.get("nonce", "")
        if nonce not in nonces:
            messages.warning(
                request, "That form was already used. Tokens are shown once: create a new one if you need it."
            )
            return redirect("identity:token_list")
        form = forms.ApiTokenForm(request.POST, max_days=max_days)
        if form.is_valid():
            try:
                issued = token_services.api_token_create(
                    user=request.user,
                    name=form.cleaned_data["name"],
                    scope=form.cleaned_data["scope"],
                    expires_at=form.expires_at(),
                    actor=request.user,
                )
            except ValidationError as exc:
                _form_errors_from(form, exc)
            else:
                request.session[TOKEN_FORM_NONCES] = [n for n in nonces if n != nonce]
                return render(
                    request,
                    "identity/token_created.html",
                    {
                        "token": issued.token,
                        "secret": issued.secret,
                        "api_base": request.build_absolute_uri("/").rstrip("/"),
                    },
                )
    else:
        nonce = secrets.token_urlsafe(16)
        request.session[TOKEN_FORM_NONCES] = [*nonces[-9:], nonce]
        form = forms.ApiTokenForm(max_days=max_days)
    return render(request, "identity/token_form.html", {"form": form, "nonce": nonce, "max_days": max_days})


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_uuid) -> HttpResponse:
    token = get_token_for_user(request.user, token_uuid)
    own = token.user_id == request.user.pk
    if token_services.api_token_revoke(token=token, actor=request.user):
        messages.success(request, f"Revoked “{token.name}” ({token.display_id}). It no longer works.")
    else:
        messages.info(request, f"“{token.name}” was already revoked.")
    if own:
        return redirect("identity:token_list")
    return redirect(reverse("identity:token_all") + f"?user={token.user.get_username()}")


@operator_required
@require_GET
def token_all(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "active")
    if status not in {"active", "expired", "revoked", "all"}:
        status = "active"
    username = request.GET.get("user", "").strip()[:150]
    page = Paginator(selectors.tokens_all(username=username, status=status), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "identity/token_all.html",
        {"page": page, "status": status, "username": username, "query": _query_without_page(request)},
    )


# --- people ----------------------------------------------------------------------


@operator_required
@require_GET
def people_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:150]
    page = Paginator(selectors.people_list(query=query), 50).get_page(request.GET.get("page"))
    return render(
        request, "identity/people_list.html", {"page": page, "q": query, "query": _query_without_page(request)}
    )


def _person(username: str):
    return get_object_or_404(User.objects.select_related("oidc_identity"), username=username)


@operator_required
@require_GET
def person_detail(request: HttpRequest, username: str) -> HttpResponse:
    person = _person(username)
    return render(request, "identity/person_detail.html", _person_context(request, person))


def _person_context(request, person, *, access_form=None, membership_form=None) -> dict:
    identity = OidcIdentity.objects.filter(user=person).first()
    governance = people_services.is_governance(person)
    return {
        "person": person,
        "identity": identity,
        "memberships": Membership.objects.filter(user=person).select_related("account").order_by("account__name"),
        "tokens": selectors.tokens_of(user=person),
        "governance": governance,
        "access_form": access_form
        or forms.PersonAccessForm(
            initial={"operator": person.is_staff, "governance": governance, "active": person.is_active}
        ),
        "membership_form": membership_form or forms.MembershipCreateForm(initial={"user": person.get_username()}),
        "now": timezone.now(),
        "is_self": person.pk == request.user.pk,
    }


@operator_required
@require_POST
def person_access(request: HttpRequest, username: str) -> HttpResponse:
    """Operator rights, governance and active, as a person's page sets them (each change audited)."""
    person = _person(username)
    form = forms.PersonAccessForm(request.POST)
    if not form.is_valid():
        return render(
            request, "identity/person_detail.html", _person_context(request, person, access_form=form), status=400
        )
    changed = 0
    try:
        with transaction.atomic():
            changed += people_services.user_operator_set(
                user=person, operator=form.cleaned_data["operator"], actor=request.user
            )
            changed += people_services.user_governance_set(
                user=person, governance=form.cleaned_data["governance"], actor=request.user
            )
            changed += people_services.user_active_set(
                user=person, active=form.cleaned_data["active"], actor=request.user
            )
    except ValidationError as exc:
        messages.error(request, _errors_text(exc))
    else:
        messages.success(request, f"Saved {person.get_username()}'s access." if changed else "Nothing changed.")
    return redirect("identity:person_detail", username=person.get_username())


# --- memberships -----------------------------------------------------------------


@operator_required
@require_GET
def membership_list(request: HttpRequest) -> HttpResponse:
    account = None
    account_id = request.GET.get("account", "").strip()
    if account_id:
        account = AwsAccount.objects.filter(account_id=account_id[:12]).first()
    role = request.GET.get("role", "")
    role = role if role in Membership.Role.values else ""
    source = request.GET.get("source", "")
    source = source if source in Membership.Source.values else ""
    query = request.GET.get("q", "").strip()[:150]
    memberships = selectors.memberships_list(account=account, role=role, source=source, query=query)
    if account_id and account is None:
        memberships = memberships.none()
    page = Paginator(memberships, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "identity/membership_list.html",
        {
            "page": page,
            "accounts": AwsAccount.objects.order_by("name").only("name", "account_id"),
            "account_id": account_id,
            "role": role,
            "source": source,
            "q": query,
            "roles": Membership.Role.choices,
            "sources": Membership.Source.choices,
            "query": _query_without_page(request),
        },
    )


@operator_required
@require_http_methods(["GET", "POST"])
def membership_create(request: HttpRequest) -> HttpResponse:
    initial = {k: request.GET[k] for k in ("user",) if k in request.GET}
    if "account" in request.GET:
        initial["account"] = AwsAccount.objects.filter(account_id=request.GET["account"][:12]).first()
    form = forms.MembershipCreateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            membership = membership_services.membership_create(
                user=form.cleaned_data["user"],
                account=form.cleaned_data["account"],
                role=form.cleaned_data["role"],
                actor=request.user,
            )
        except ValidationError as exc:
            _form_errors_from(form, exc)
        else:
            messages.success(
                request,
                f"{membership.user.get_username()} is now {membership.get_role_display().lower()} of {membership.account.name}.",
            )
            if request.POST.get("next") == "person":
                return redirect("identity:person_detail", username=membership.user.get_username())
            return redirect(reverse("identity:membership_list") + f"?account={membership.account.account_id}")
    return render(request, "identity/membership_form.html", {"form": form, "membership": None})


def _membership(username: str, account_id: str) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user", "account"), user__username=username, account__account_id=account_id
    )


@operator_required
@require_http_methods(["GET", "POST"])
def membership_edit(request: HttpRequest, username: str, account_id: str) -> HttpResponse:
    membership = _membership(username, account_id)
    form = forms.MembershipRoleForm(request.POST or None, initial={"role": membership.role})
    if request.method == "POST" and form.is_valid():
        was_directory = membership.source == Membership.Source.DIRECTORY
        membership = membership_services.membership_update(
            membership=membership, actor=request.user, role=form.cleaned_data["role"]
        )
        note = " It is now set by hand: sign-ins no longer change it." if was_directory else ""
        messages.success(request, f"Saved {membership}.{note}")
        return redirect("identity:person_detail", username=username)
    return render(request, "identity/membership_form.html", {"form": form, "membership": membership})


@operator_required
@require_POST
def membership_delete(request: HttpRequest, username: str, account_id: str) -> HttpResponse:
    membership = (
        Membership.objects.select_related("user", "account")
        .filter(user__username=username, account__account_id=account_id)
        .first()
    )
    if membership is not None:
        membership_services.membership_delete(membership=membership, actor=request.user)
        extra = (
            " Its role mapping gives it back at the next sign-in unless the mapping or the person's groups change."
            if membership.source == Membership.Source.DIRECTORY
            else ""
        )
        messages.success(request, f"Removed {membership.user.get_username()} from {membership.account.name}.{extra}")
    if request.POST.get("next") == "person":
        return redirect("identity:person_detail", username=username)
    return redirect("identity:membership_list")


# --- role mappings ---------------------------------------------------------------


def _totals_text(totals: dict) -> str:
    if not totals["people"]:
        return "Nobody who has signed in is in that group yet; it applies at their sign-in."
    return (
        f"Applied to {totals['people']} signed-in {'person' if totals['people'] == 1 else 'people'}: "
        f"{totals['added']} memberships added, {totals['changed']} changed, {totals['removed']} removed"
        f"{', ' + str(totals['rights']) + ' rights changed' if totals['rights'] else ''}."
    )


@operator_required
@require_http_methods(["GET", "POST"])
def mapping_list(request: HttpRequest) -> HttpResponse:
    form = forms.RoleMappingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            mapping, totals = mapping_services.role_mapping_create(**form.cleaned_data, actor=request.user)
        except ValidationError as exc:
            _form_errors_from(form, exc)
        else:
            messages.success(request, f"Added {mapping}. {_totals_text(totals)}")
            return redirect("identity:mapping_list")
    return render(
        request,
        "identity/mapping_list.html",
        {"mappings": selectors.role_mappings_list(), "form": form, "oidc_enabled": oidc_enabled()},
        status=400 if form.errors else 200,
    )


@operator_required
@require_http_methods(["GET", "POST"])
def mapping_edit(request: HttpRequest, mapping_uuid) -> HttpResponse:
    mapping = get_object_or_404(RoleMapping.objects.select_related("account"), uuid=mapping_uuid)
    initial = {"group": mapping.group, "grants": mapping.grants, "account": mapping.account, "role": mapping.role}
    form = forms.RoleMappingForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            mapping, totals = mapping_services.role_mapping_update(
                mapping=mapping, **form.cleaned_data, actor=request.user
            )
        except ValidationError as exc:
            _form_errors_from(form, exc)
        else:
            messages.success(request, f"Saved {mapping}. {_totals_text(totals)}")
            return redirect("identity:mapping_list")
    return render(request, "identity/mapping_form.html", {"form": form, "mapping": mapping})


@operator_required
@require_POST
def mapping_delete(request: HttpRequest, mapping_uuid) -> HttpResponse:
    mapping = RoleMapping.objects.select_related("account").filter(uuid=mapping_uuid).first()
    if mapping is not None:
        label = str(mapping)
        totals = mapping_services.role_mapping_delete(mapping=mapping, actor=request.user)
        messages.success(request, f"Removed {label}. {_totals_text(totals)}")
    return redirect("identity:mapping_list")


# --- audit log -------------------------------------------------------------------


def _audit_filtered(request: HttpRequest):
    form = forms.AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    events = selectors.audit_events(
        action=filters.get("action") or "",
        actor=filters.get("actor") or "",
        object_type=filters.get("object_type") or "",
        account=filters.get("account") or "",
        query=filters.get("q") or "",
        since=filters.get("since"),
        until=filters.get("until"),
    )
    if form.is_bound and not form.is_valid():
        events = events.none()
    return form, events


@operator_required
@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    form, events = _audit_filtered(request)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    for event in page.object_list:
        event.action_label = audit_action_label(event.action)
    return render(
        request, "identity/audit_list.html", {"form": form, "page": page, "query": _query_without_page(request)}
    )


@operator_required
@require_GET
def audit_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered log as CSV, streamed row by row (no cap, bounded memory)."""
    _form, events = _audit_filtered(request)
    return audit_events_csv(events, filename=f"pantry-audit-{timezone.now():%Y%m%d-%H%M}.csv", source_ip=True)
