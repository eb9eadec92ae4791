"""REST API for search over feature groups and features (/api/v1/search/).

Same selector and visibility gate as the search page: the API is the page's
query as JSON.
"""

from __future__ import annotations

from django.urls import path
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.paths import CatalogPaths
from catalog.selectors.access import ACCESS_SLUGS, access_label, access_slug
from catalog.selectors.search import (
    FACETS,
    KINDS,
    MAX_QUERY_LENGTH,
    SORTS,
    STORES,
    SearchResults,
    search_params_errors,
    search_params_parse,
    search_run,
)
from portal.api import error_responses
from portal.api_filters import query_params_check

KNOWN_PARAMETERS = ("q", "kind", *FACETS, "sort", "page")


class SearchGroupSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    arn = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    account_id = serializers.CharField(source="account.account_id")
    account_name = serializers.CharField(source="account.name")
    region = serializers.CharField()
    feature_count = serializers.IntegerField()
    tags = serializers.DictField(child=serializers.CharField())
    status = serializers.CharField()
    online_store_enabled = serializers.BooleanField()
    offline_store_enabled = serializers.BooleanField()
    popularity = serializers.FloatField()
    aws_modified_at = serializers.DateTimeField(allow_null=True)
    access_level = serializers.ChoiceField(
        choices=list(ACCESS_SLUGS), help_text="Your access: one of the `access` facet's values."
    )
    access_label = serializers.CharField(help_text="Your access in words, as the facet and the pages say it.")
    url = serializers.SerializerMethodField()

    def get_url(self, group) -> str:
        return self.context["base_url"] + self.context["paths"].group(group.uuid)

    def _datetime(self, value) -> str | None:
        """As DateTimeField writes it (ISO 8601 in the current time zone, `Z` for UTC), with the
        time zone looked up once per page rather than once a row."""
        if value is None:
            return None
        text = value.astimezone(self.context["timezone"]).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    def to_representation(self, group) -> dict:
        # The declared fields document the shape (OpenAPI); building the dict
        # directly costs a tenth of DRF's per-field machinery on a results page.
        account = group.account
        return {
            "id": str(group.uuid),
            "arn": group.arn,
            "name": group.name,
            "description": group.description,
            "account_id": account.account_id,
            "account_name": account.name,
            "region": group.region,
            "feature_count": group.feature_count,
            "tags": {str(k): str(v) for k, v in (group.tags or {}).items()},
            "status": group.status,
            "online_store_enabled": group.online_store_enabled,
            "offline_store_enabled": group.offline_store_enabled,
            "popularity": float(group.popularity),
            "aws_modified_at": self._datetime(group.aws_modified_at),
            "access_level": access_slug(group.access_level),
            "access_label": access_label(group.access_level),
            "url": self.get_url(group),
        }


class SearchFeatureSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid")
    name = serializers.CharField()
    type = serializers.CharField()
    collection_type = serializers.CharField()
    description = serializers.CharField()
    group_id = serializers.UUIDField(source="feature_group.uuid")
    group_name = serializers.CharField(source="feature_group.name")
    account_id = serializers.CharField(source="feature_group.account.account_id")
    region = serializers.CharField(source="feature_group.region")
    url = serializers.SerializerMethodField()

    def get_url(self, feature) -> str:
        return self.context["base_url"] + self.context["paths"].feature(feature.feature_group.uuid, feature.name)

    def to_representation(self, feature) -> dict:
        group = feature.feature_group
        return {
            "id": str(feature.uuid),
            "name": feature.name,
            "type": feature.type,
            "collection_type": feature.collection_type,
            "description": feature.description,
            "group_id": str(group.uuid),
            "group_name": group.name,
            "account_id": group.account.account_id,
            "region": group.region,
            "url": self.get_url(feature),
        }


class FacetValueSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()
    selected = serializers.BooleanField()


class SearchFacetsSerializer(serializers.Serializer):
    account = FacetValueSerializer(many=True, required=False)
    region = FacetValueSerializer(many=True, required=False)
    tag = FacetValueSerializer(many=True, required=False)
    feature_type = FacetValueSerializer(many=True, required=False)
    store = FacetValueSerializer(many=True, required=False)
    status = FacetValueSerializer(many=True, required=False)
    access = FacetValueSerializer(many=True, required=False)


class SearchResponseSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=KINDS)
    q = serializers.CharField()
    count = serializers.IntegerField(help_text="Matches; a lower bound when `capped` is true.")
    capped = serializers.BooleanField(help_text="More matches than the search ranks; refine the query.")
    page = serializers.IntegerField()
    num_pages = serializers.IntegerField()
    fuzzy = serializers.BooleanField(help_text="Misspelt words were corrected; see corrected_query.")
    corrected_query = serializers.CharField(help_text="The query actually searched when fuzzy is true.")
    ignored_query = serializers.BooleanField(help_text="The query had no searchable words and was ignored.")
    sort = serializers.ChoiceField(choices=list(SORTS), help_text="The sort applied (unknown values mean relevance).")
    usage_data = serializers.BooleanField(
        help_text="Usage has been recorded for some group you can see. While false, every popularity is 0 "
        "and sort=popular orders by name."
    )
    facets = SearchFacetsSerializer()
    groups = SearchGroupSerializer(many=True, required=False, help_text="Present when kind=groups.")
    features = SearchFeatureSerializer(many=True, required=False, help_text="Present when kind=features.")


def _many(name: str, description: str, enum: list[str] | None = None) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.STR, many=True, explode=True, description=description, enum=enum)


class SearchView(APIView):
    """Search feature groups or features you may see, with facet counts."""

    @extend_schema(
        operation_id="search",
        parameters=[
            OpenApiParameter(
                "q",
                OpenApiTypes.STR,
                description=f'Words (websearch syntax: "phrase", -exclude); at most {MAX_QUERY_LENGTH} characters are used.',
            ),
            OpenApiParameter("kind", OpenApiTypes.STR, enum=list(KINDS), description="groups (default) or features"),
            _many("account", "Owner AWS account id (12 digits)."),
            _many("region", "AWS region."),
            _many("tag", "Tag as key=value."),
            _many("feature_type", "Feature type (features only).", enum=["String", "Integral", "Fractional"]),
            _many("store", "Store kind.", enum=list(STORES)),
            _many("status", "Feature group status."),
            _many(
                "access",
                "My access (see `access_level` of each group). `can_read`, kept for links made before each"
                " level had its own value, means read_only, read_write and admin together.",
                enum=list(ACCESS_SLUGS),
            ),
            OpenApiParameter("sort", OpenApiTypes.STR, enum=list(SORTS)),
            OpenApiParameter(
                "page",
                {"type": "integer", "minimum": 1},
                description="Page of 20 results; past the last page, the last page.",
            ),
        ],
        responses={200: SearchResponseSerializer, **error_responses(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        query_params_check(request, KNOWN_PARAMETERS)
        if errors := search_params_errors(data=request.query_params):
            raise ValidationError(errors)
        params = search_params_parse(data=request.query_params)
        results = search_run(user=request.user, params=params)
        return Response(search_results_payload(results, request=request))


def search_results_payload(results: SearchResults, *, request) -> dict:
    # One absolute base for all rows: build_absolute_uri per row showed in profiles.
    context = {
        "request": request,
        "base_url": request.build_absolute_uri("/").rstrip("/"),
        "paths": CatalogPaths(),
        "timezone": timezone.get_current_timezone(),
    }
    payload = {
        "kind": results.params.kind,
        "q": results.params.query,
        "count": results.count,
        "capped": results.capped,
        "page": results.page,
        "num_pages": results.num_pages,
        "fuzzy": results.fuzzy,
        "corrected_query": results.corrected_query,
        "ignored_query": results.ignored_query,
        "sort": results.params.sort,
        "usage_data": results.usage_data,
        # Plain dicts: FacetValueSerializer documents the shape in the schema;
        # running it over every facet value cost more than the rest of the payload.
        "facets": {
            name: [
                {"value": value.value, "label": value.label, "count": value.count, "selected": value.selected}
                for value in values
            ]
            for name, values in results.facets.items()
            if name in FACETS
        },
    }
    if results.params.kind == "features":
        payload["features"] = SearchFeatureSerializer(results.results, many=True, context=context).data
    else:
        payload["groups"] = SearchGroupSerializer(results.results, many=True, context=context).data
    return payload


def register(router) -> None:
    pass


extra_urlpatterns: list = [path("search/", SearchView.as_view(), name="api-search")]
