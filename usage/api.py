"""Usage API (/api/v1/usage/...): the dashboards' figures as JSON.

Same selectors and the same scope as the pages: governance and operators
read the whole organisation; owners and admins of an owner account read the
usage of that account's feature groups; anyone else is refused (403) before
the query is looked at. A filter naming an account or group outside the
caller's scope is a 404, the same answer as one that does not exist.
"""

from __future__ import annotations

from django.http import Http404
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.selectors import groups as group_selectors
from portal.api import error_responses
from portal.api_filters import query_params_check
from usage import selectors
from usage.forms import OPERATION_CHOICES, UsageFilterForm

FILTER_PARAMETERS = ("start", "end", "owner", "consumer", "group", "operation")
NO_SCOPE = "Usage is shown to governance, operators, and owners and admins of owner accounts."


def _filter_parameters() -> list[OpenApiParameter]:
    return [
        OpenApiParameter("start", OpenApiTypes.DATE, description="First day (UTC), default 29 days before `end`."),
        OpenApiParameter("end", OpenApiTypes.DATE, description="Last day, inclusive (UTC), default today."),
        OpenApiParameter("owner", OpenApiTypes.STR, description="Owner AWS account id (12 digits)."),
        OpenApiParameter("consumer", OpenApiTypes.STR, description="Consumer AWS account id (12 digits)."),
        OpenApiParameter("group", OpenApiTypes.UUID, description="Feature group id."),
        OpenApiParameter(
            "operation",
            OpenApiTypes.STR,
            enum=[v for v, _ in OPERATION_CHOICES if v],
            description="CloudTrail eventName.",
        ),
    ]


def _scope_or_403(request: Request) -> selectors.UsageScope:
    scope = selectors.usage_scope(request.user)
    if scope.empty:
        raise PermissionDenied(NO_SCOPE)
    return scope


def _filters(request: Request, scope: selectors.UsageScope, allowed=FILTER_PARAMETERS) -> selectors.UsageFilters:
    query_params_check(request, allowed)
    form = UsageFilterForm(request.query_params, scope=scope)
    if not form.is_valid():
        if form.out_of_scope:
            raise Http404
        raise ValidationError({field: list(errors) for field, errors in form.errors.items()})
    return form.filters()


class FiltersSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    owner = serializers.CharField(allow_blank=True)
    consumer = serializers.CharField(allow_blank=True)
    group = serializers.UUIDField(allow_null=True)
    operation = serializers.CharField(allow_blank=True)


def _filters_payload(filters: selectors.UsageFilters) -> dict:
    return {
        "start": filters.start.isoformat(),
        "end": filters.end.isoformat(),
        "owner": filters.owner_account_id,
        "consumer": filters.consumer_account_id,
        "group": str(filters.feature_group.uuid) if filters.feature_group else None,
        "operation": filters.operation,
    }


class OutcomesSerializer(serializers.Serializer):
    success = serializers.IntegerField()
    denied = serializers.IntegerField()
    failed = serializers.IntegerField()


class TopGroupSerializer(serializers.Serializer):
    id = serializers.UUIDField(allow_null=True, help_text="Null when the group is not in the catalog.")
    name = serializers.CharField()
    arn = serializers.CharField()
    calls = serializers.IntegerField()
    consumer_accounts = serializers.IntegerField()


class TopConsumerSerializer(serializers.Serializer):
    account_id = serializers.CharField()
    name = serializers.CharField()
    calls = serializers.IntegerField()
    feature_groups = serializers.IntegerField()


class TopPrincipalSerializer(serializers.Serializer):
    principal_arn = serializers.CharField()
    account_id = serializers.CharField()
    calls = serializers.IntegerField()
    feature_groups = serializers.IntegerField()


class DeniedSerializer(serializers.Serializer):
    principal_arn = serializers.CharField()
    account_id = serializers.CharField()
    feature_group_arn = serializers.CharField()
    operation = serializers.CharField()
    calls = serializers.IntegerField()
    last_day = serializers.DateField()


class SummarySerializer(serializers.Serializer):
    filters = FiltersSerializer()
    outcomes = OutcomesSerializer(help_text="Calls by outcome (success, denied, failed).")
    reads = serializers.IntegerField(help_text="Successful read calls.")
    writes = serializers.IntegerField(help_text="Successful write calls.")
    top_groups = TopGroupSerializer(many=True)
    top_consumers = TopConsumerSerializer(many=True)
    top_principals = TopPrincipalSerializer(many=True)
    denied = DeniedSerializer(many=True, help_text="Denied calls: who tried which operation on what.")


class SummaryView(APIView):
    """Totals and top lists over a date range, within what you may see."""

    @extend_schema(
        operation_id="usage_summary",
        parameters=_filter_parameters(),
        responses={200: SummarySerializer, **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        scope = _scope_or_403(request)
        filters = _filters(request, scope)
        breakdown = selectors.usage_day_breakdown(scope=scope, filters=filters)
        rw = selectors.usage_reads_vs_writes(scope=scope, filters=filters, breakdown=breakdown)
        tops = selectors.usage_tops(scope=scope, filters=filters)
        groups = selectors.usage_top_groups(scope=scope, filters=filters, tops=tops).rows
        consumers = selectors.usage_top_consumers(scope=scope, filters=filters, tops=tops).rows
        principals = selectors.usage_top_principals(scope=scope, filters=filters).rows
        denied = selectors.usage_denied_summary(scope=scope, filters=filters).rows
        return Response(
            {
                "filters": _filters_payload(filters),
                "outcomes": selectors.usage_outcomes(scope=scope, filters=filters, breakdown=breakdown),
                "reads": sum(rw.datasets["Reads"]),
                "writes": sum(rw.datasets["Writes"]),
                "top_groups": [
                    {
                        "id": str(r["group"].uuid) if r["group"] else None,
                        "name": r["label"],
                        "arn": r["arn"],
                        "calls": r["calls"],
                        "consumer_accounts": r["accounts"],
                    }
                    for r in groups
                ],
                "top_consumers": [
                    {
                        "account_id": r["account_id"],
                        "name": r["name"],
                        "calls": r["calls"],
                        "feature_groups": r["groups"],
                    }
                    for r in consumers
                ],
                "top_principals": [
                    {
                        "principal_arn": r["principal_arn"],
                        "account_id": r["account_id"],
                        "calls": r["calls"],
                        "feature_groups": r["groups"],
                    }
                    for r in principals
                ],
                "denied": [
                    {
                        "principal_arn": r["principal_arn"],
                        "account_id": r["consumer_account_id"],
                        "feature_group_arn": r["feature_group_arn"],
                        "operation": r["operation"],
                        "calls": r["calls"],
                        "last_day": r["last_day"].isoformat(),
                    }
                    for r in denied
                ],
            }
        )


class DailyPointSerializer(serializers.Serializer):
    day = serializers.DateField()
    calls = serializers.DictField(child=serializers.IntegerField(), help_text="Successful calls by operation.")
    total = serializers.IntegerField()


class DailySerializer(serializers.Serializer):
    filters = FiltersSerializer()
    operations = serializers.ListField(child=serializers.CharField())
    days = DailyPointSerializer(many=True, help_text="One entry per day of the range, zeros included.")


class DailyView(APIView):
    """Successful calls per day and operation (the dashboard's stacked chart)."""

    @extend_schema(
        operation_id="usage_daily",
        parameters=_filter_parameters(),
        responses={200: DailySerializer, **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        scope = _scope_or_403(request)
        filters = _filters(request, scope)
        series = selectors.usage_calls_per_day(scope=scope, filters=filters)
        ops = list(series.datasets)
        return Response(
            {
                "filters": _filters_payload(filters),
                "operations": ops,
                "days": [
                    {"day": day.isoformat(), "calls": dict(zip(ops, values, strict=True)), "total": total}
                    for day, values, total in series.table
                ],
            }
        )


class GroupConsumerSerializer(serializers.Serializer):
    account_id = serializers.CharField()
    account_name = serializers.CharField()
    calls = serializers.IntegerField()
    principals = serializers.IntegerField()
    last_read = serializers.DateField(allow_null=True)


class GroupOperationSerializer(serializers.Serializer):
    account_id = serializers.CharField()
    operation = serializers.CharField()
    calls = serializers.IntegerField()
    last_day = serializers.DateField()


class GroupUsageSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    days = serializers.IntegerField()
    since = serializers.DateField()
    has_usage = serializers.BooleanField(help_text="Any usage was ever recorded for the group.")
    total_calls = serializers.IntegerField()
    distinct_principals = serializers.IntegerField()
    last_read = serializers.DateField(allow_null=True)
    consumers = GroupConsumerSerializer(many=True)
    operations = GroupOperationSerializer(many=True)


class GroupUsageView(APIView):
    """A feature group's last 30 days of use by consumer account and operation (its owner side only)."""

    @extend_schema(
        operation_id="usage_group",
        responses={200: GroupUsageSerializer, **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request, id) -> Response:
        group = group_selectors.feature_group_get_for_user(user=request.user, group_uuid=id)
        if not selectors.can_see_group_usage(request.user, group):
            raise PermissionDenied(
                "A group's usage is shown to its account's owners and admins, governance and operators."
            )
        query_params_check(request, ())
        usage = selectors.group_usage(group=group)
        return Response(
            {
                "id": str(group.uuid),
                "days": usage.days,
                "since": usage.since.isoformat(),
                "has_usage": usage.has_usage,
                "total_calls": usage.total_calls,
                "distinct_principals": usage.distinct_principals,
                "last_read": usage.last_read.isoformat() if usage.last_read else None,
                "consumers": [
                    {
                        "account_id": c["consumer_account_id"],
                        "account_name": c["account_name"],
                        "calls": c["calls"],
                        "principals": c["principals"],
                        "last_read": c["last_read"].isoformat() if c["last_read"] else None,
                    }
                    for c in usage.consumers
                ],
                "operations": [
                    {
                        "account_id": r["consumer_account_id"],
                        "operation": r["operation"],
                        "calls": r["calls"],
                        "last_day": r["last_day"].isoformat(),
                    }
                    for r in usage.rows
                ],
            }
        )


def register(router) -> None:
    pass


extra_urlpatterns: list = [
    path("usage/summary/", SummaryView.as_view(), name="api-usage-summary"),
    path("usage/daily/", DailyView.as_view(), name="api-usage-daily"),
    path("usage/groups/<uuid:id>/", GroupUsageView.as_view(), name="api-usage-group"),
]
