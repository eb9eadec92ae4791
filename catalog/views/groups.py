"""Feature group pages, feature pages, and owners' description editing.

Fetching goes through the selectors' visibility gate (invisible → 404);
editing additionally needs `can_edit_group` (visible but not an owner → 403).
"""

from __future__ import annotations

import unicodedata

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import Variable, VariableDoesNotExist
from django.urls import path
from django.utils.text import Truncator
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from catalog.forms import DescriptionForm, parameter_formset
from catalog.markdown import markdown_to_html
from catalog.models import DescriptionEdit, FeatureGroup
from catalog.paths import CatalogPaths
from catalog.permissions import can_edit_group
from catalog.scope import visibility_scope
from catalog.selectors import access
from catalog.selectors import groups as selectors
from catalog.services import descriptions as services
from usage import selectors as usage_selectors


def get_feature_group_for_user(user, group_uuid, *, scope=None) -> FeatureGroup:
    """The one way views fetch a feature group: invisible means 404.

    `scope`: the user's visibility scope when the view needs it again (resolve it once).
    """
    return selectors.feature_group_get_for_user(user=user, group_uuid=group_uuid, scope=scope)


def _group_for_editor(user, group_uuid) -> FeatureGroup:
    group = get_feature_group_for_user(user, group_uuid)
    if not _may_edit(user, group):
        raise PermissionDenied
    return group


def _may_edit(user, group: FeatureGroup) -> bool:
    # A group deleted in AWS is kept for its history but no longer edited.
    return not group.is_deleted and can_edit_gated(user, group)


def can_edit_gated(user, group: FeatureGroup) -> bool:
    """`can_edit_group` for a group from the gate: only an owner edits, and an owner's group is
    `MINE` (a member of its account), so for any other access level the answer is no without a query."""
    if getattr(group, "access_level", access.MINE) != access.MINE:
        return False
    return can_edit_group(user, group)


_DESCRIPTION_CHARS = 300  # the schema table's description column


def _schema_rows(group: FeatureGroup, features: list) -> None:
    """What each schema row shows, computed once in Python rather than per row in the template.

    `schema_url` is `feature.get_absolute_url()` without a reverse() per feature (`CatalogPaths`);
    `schema_summary` is `pantry_description|default:description|truncatechars:300`; `schema_dimension` is
    `collection_config.VectorConfig.Dimension` as the template resolved it.
    """
    paths = CatalogPaths()
    for feature in features:
        feature.schema_url = paths.feature(group.uuid, feature.name)
        text = str(feature.pantry_description or feature.description)
        feature.schema_summary = (
            unicodedata.normalize("NFC", text)
            if len(text) <= _DESCRIPTION_CHARS
            else Truncator(text).chars(_DESCRIPTION_CHARS)
        )
        feature.schema_dimension = _vector_dimension(feature)


def _vector_dimension(feature):
    config = feature.collection_config
    if isinstance(config, dict):
        vector = config.get("VectorConfig")
        if "VectorConfig" not in config:
            return ""
        if isinstance(vector, dict):
            return vector.get("Dimension", "")
    try:  # anything unusual: the template's own lookup rules
        return Variable("f.collection_config.VectorConfig.Dimension").resolve({"f": feature})
    except VariableDoesNotExist:
        return ""


def _schema_context(request: HttpRequest, group: FeatureGroup) -> dict:
    query = request.GET.get("q", "")
    page = selectors.feature_group_schema_page(group=group, query=query, page=request.GET.get("page"))
    _schema_rows(group, page.object_list)
    return {
        "group": group,
        "schema_page": page,
        "schema_query": query.strip()[: selectors.SCHEMA_QUERY_MAX_LENGTH],
        # Filtering in the browser is instant but sees only rendered rows, so
        # it is used only when the whole schema fits in one page.
        "schema_paged": bool(query.strip())
        or page.paginator.num_pages > 1
        or group.feature_count > selectors.SCHEMA_PAGE_SIZE,
    }


def _usage_context(user, group: FeatureGroup) -> dict:
    """How many accounts use the group (for everyone who sees it), and its owner side's usage panel."""
    has_usage, accounts = usage_selectors.group_usage_counts(group=group)
    panel = None
    if usage_selectors.can_see_group_usage(user, group):
        panel = usage_selectors.group_usage(group=group, has_usage=has_usage)
    return {
        "used_by": accounts if has_usage else None,
        "usage_days": usage_selectors.DEFAULT_DAYS,
        "usage_panel": panel,
    }


@login_required
@require_GET
def group_detail(request: HttpRequest, group_uuid) -> HttpResponse:
    # Resolved once: the gate and the sharing panel ("Request access", "How to read it") read it.
    # The usage panel asks its own question (usage.selectors.usage_scope: the owner side).
    scope = visibility_scope(request.user)
    group = get_feature_group_for_user(request.user, group_uuid, scope=scope)
    mine = group.access_level == access.MINE
    context = {
        "visibility": scope,
        **_schema_context(request, group),
        "access_label": access.access_label(group.access_level),
        "can_read_records": group.access_level >= access.READ_ONLY,
        "discoverable_only": group.access_level == access.DISCOVERABLE,
        # Inside its own account a group is addressed by name; from any other
        # account the feature store runtime needs the full ARN.
        "group_identifier": group.name if mine else group.arn,
        "cross_account": not mine,
        "owners": selectors.feature_group_owners(group=group),
        "online": selectors.online_store_summary(group=group),
        "edits": selectors.description_edits_for_group(group=group, limit=10),
        "can_edit": _may_edit(request.user, group),
        "tags": sorted((group.tags or {}).items()),
        **_usage_context(request.user, group),
    }
    return render(request, "catalog/group_detail.html", context)


@login_required
@require_GET
def group_schema(request: HttpRequest, group_uuid) -> HttpResponse:
    """The schema table alone, for htmx filtering and paging of wide groups."""
    group = get_feature_group_for_user(request.user, group_uuid)
    return render(request, "catalog/group_detail.html#schema", _schema_context(request, group))


@login_required
@require_GET
def feature_detail(request: HttpRequest, group_uuid, feature_name: str) -> HttpResponse:
    feature = selectors.feature_get_for_user(user=request.user, group_uuid=group_uuid, feature_name=feature_name)
    group = feature.feature_group
    context = {
        "group": group,
        "feature": feature,
        "parameters": sorted((feature.parameters or {}).items()),
        "edits": selectors.description_edits_for_feature(feature=feature),
        "can_edit": _may_edit(request.user, group),
        "access_label": access.access_label(group.access_level),
    }
    return render(request, "catalog/feature_detail.html", context)


# ---------------------------------------------------------------------------
# Editing
# ---------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def group_description_edit(request: HttpRequest, group_uuid) -> HttpResponse:
    group = _group_for_editor(request.user, group_uuid)
    form = DescriptionForm(request.POST or None, initial={"description": group.pantry_description})
    if request.method == "POST" and form.is_valid():
        try:
            edit = services.feature_group_description_update(
                group=group, editor=request.user, description=form.cleaned_data["description"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if edit is None:
                messages.info(request, "Nothing changed, so no edit was recorded.")
            else:
                messages.success(request, "Saved the description. Feature group descriptions live in Pantry only.")
            return redirect(group)
    return render(
        request,
        "catalog/description_form.html",
        {
            "group": group,
            "feature": None,
            "form": form,
            "formset": None,
            "preview_html": markdown_to_html(_current_text(form)),
            "cancel_url": group.get_absolute_url(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def feature_description_edit(request: HttpRequest, group_uuid, feature_name: str) -> HttpResponse:
    # The group's visibility and the caller's right to edit it come before
    # looking the feature up.
    group = _group_for_editor(request.user, group_uuid)
    feature = selectors.feature_of_group(group=group, feature_name=feature_name)
    data = request.POST if request.method == "POST" else None
    form = DescriptionForm(data, initial={"description": feature.pantry_description})
    # Parameters are editable only where they can be written back to AWS.
    formset = (
        parameter_formset(data=data, parameters=feature.parameters) if group.account.metadata_write_allowed else None
    )
    if request.method == "POST" and form.is_valid() and (formset is None or formset.is_valid()):
        try:
            edit = services.feature_description_update(
                feature=feature,
                editor=request.user,
                description=form.cleaned_data["description"],
                parameters=formset.parameters() if formset is not None else dict(feature.parameters or {}),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            _report_feature_edit(request, group, edit)
            return redirect(feature)
    return render(
        request,
        "catalog/description_form.html",
        {
            "group": group,
            "feature": feature,
            "form": form,
            "formset": formset,
            "preview_html": markdown_to_html(_current_text(form)),
            "cancel_url": feature.get_absolute_url(),
            "aws_description_max": services.AWS_DESCRIPTION_MAX_LENGTH,
        },
    )


def _report_feature_edit(request: HttpRequest, group: FeatureGroup, edit: DescriptionEdit | None) -> None:
    if edit is None:
        messages.info(request, "Nothing changed, so no edit was recorded.")
    elif not group.account.metadata_write_allowed:
        messages.success(
            request, "Saved in Pantry only: this account does not let Pantry write feature metadata to AWS."
        )
    elif edit.written_to_aws and not edit.aws_error:
        messages.success(request, "Saved, and written to AWS feature metadata.")
    elif edit.written_to_aws:
        messages.warning(request, f"Saved, and the parameters were written to AWS. {edit.aws_error}")
    elif edit.aws_error:
        messages.warning(request, f"Saved in Pantry, but writing to AWS failed: {edit.aws_error}")
    else:
        messages.success(request, "Saved in Pantry; nothing AWS holds changed.")


def _current_text(form: DescriptionForm) -> str:
    if form.is_bound:
        return form.data.get("description", "")[: services.MAX_DESCRIPTION_LENGTH]
    return form.initial.get("description", "")


@login_required
@require_POST
def description_preview(request: HttpRequest, group_uuid) -> HttpResponse:
    """htmx: the sanitised HTML of the markdown being typed, for the edit forms of this group."""
    group = _group_for_editor(request.user, group_uuid)
    form = DescriptionForm(request.POST)
    error = ""
    html = ""
    if form.is_valid():
        html = markdown_to_html(form.cleaned_data["description"])
    else:
        error = " ".join(form.errors.get("description", []))
    return render(
        request, "catalog/description_form.html#preview", {"group": group, "preview_html": html, "preview_error": error}
    )


urlpatterns = [
    path("groups/<uuid:group_uuid>/", group_detail, name="group_detail"),
    path("groups/<uuid:group_uuid>/schema/", group_schema, name="group_schema"),
    path("groups/<uuid:group_uuid>/description/edit/", group_description_edit, name="group_description_edit"),
    path("groups/<uuid:group_uuid>/description/preview/", description_preview, name="description_preview"),
    path("groups/<uuid:group_uuid>/features/<str:feature_name>/", feature_detail, name="feature_detail"),
    path(
        "groups/<uuid:group_uuid>/features/<str:feature_name>/edit/",
        feature_description_edit,
        name="feature_description_edit",
    ),
]
