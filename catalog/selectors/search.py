"""Search over feature groups and features: text match, typo fallback, facets, ranking.

The query path (measured in docs/search.md and docs/benchmarks.md):

1. The text match uses the stored, GIN-indexed `search_vector` columns and
   `websearch_to_tsquery('english', q)`; nothing computes a vector per query.
2. Everything starts from `FeatureGroup.objects.visible_to(user).live()`, so
   results and facet counts only ever include what the user may see.
3. Matches form a *bounded candidate set* (at most `GROUP_CANDIDATES` or
   `FEATURE_CANDIDATES` rows). A common word such as `customer` matches a large
   share of two million features; ranking and counting every match is what
   made the naive query take seconds. Below the bound every figure is exact;
   above it the page says "more than N" and ranks, pages and counts facets
   within the candidates, so a facet's count still equals the results it
   leads to within what is shown.
4. One SQL statement computes the candidates, every facet's counts and the
   ids of the requested page; one more fetches those rows for display.
5. When plain words find next to nothing, misspelt words are corrected
   against a trigram-indexed table of the words in names and the search runs
   again (`custmer_age` → `customer age`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from math import ceil

from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramSimilarity
from django.db import connection, transaction
from django.db.models import F, FloatField, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Ln

from catalog.models import Feature, FeatureGroup
from catalog.scope import VisibilityScope, visibility_scope
from catalog.selectors.access import (
    ACCESS_LEVELS,
    ACCESS_SLUG_ALIASES,
    ACCESS_SLUGS,
    access_label_for_slug,
    access_level_for_slug,
    annotate_access_level,
)
from catalog.selectors.accounts import account_names_seen

MAX_QUERY_LENGTH = 200
MAX_VALUES_PER_FACET = 10  # selected values accepted per facet from the URL
FACET_VALUES_SHOWN = 25  # values listed per facet (tags can be many)
PAGE_SIZE = 20
GROUP_CANDIDATES = 500
FEATURE_CANDIDATES = 500
TEXT_CONFIG = "english"
# ts_rank_cd weights for D, C, B, A: a name hit (A) counts ten times a feature
# word (C), so a group named for the word beats one whose features mention it.
RANK_WEIGHTS = [0.02, 0.1, 0.4, 1.0]
# Popularity (filled from usage) lifts a result by a log factor, never enough
# to bury a name match under a popular group that only mentions the word.
POPULARITY_WEIGHT = 0.1

# Typo matching joins in below this many text matches.
FUZZY_BELOW = 5
WORD_RE = re.compile(r"[a-z]+|[0-9]+")
MAX_CORRECTED_WORDS = 8
OPERATOR_RE = re.compile(r'"|(^|\s)-\w|\bor\b', re.IGNORECASE)

KINDS = ("groups", "features")
SORTS = {
    "relevance": "Relevance",
    "name": "Name",
    "recent": "Recently changed",
    "popular": "Most used",
}
STORES = {"online": "Online store", "offline": "Offline store"}
FACETS = ("account", "region", "tag", "feature_type", "store", "status", "access")
FACET_TITLES = {
    "account": "Owner account",
    "region": "Region",
    "tag": "Tag",
    "feature_type": "Feature type",
    "store": "Store",
    "status": "Status",
    "access": "My access",
}
ACCOUNT_ID_RE = re.compile(r"^\d{12}$")
REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")


@dataclass(frozen=True)
class SearchParams:
    """A cleaned search request: whatever came in the URL, this is valid."""

    query: str = ""
    kind: str = "groups"
    facets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    sort: str = "relevance"
    page: int = 1


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool


@dataclass
class SearchResults:
    params: SearchParams
    results: list  # FeatureGroup or Feature instances, in display order
    count: int
    capped: bool  # more matches than candidates: count is a lower bound
    page: int
    num_pages: int
    facets: dict[str, list[FacetValue]]
    fuzzy: bool  # misspelt words were corrected against the words of real names
    corrected_query: str  # the query actually searched when fuzzy
    ignored_query: bool  # the query had no searchable words (punctuation, stop words)
    # Some group the user can see has usage (popularity > 0). Until then "Most
    # used" orders by name, and the page says so instead of offering it.
    usage_data: bool = False

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.num_pages


def search_params_parse(*, data: Mapping) -> SearchParams:
    """Clean URL parameters into SearchParams; bad values are dropped, never an error."""
    getlist = data.getlist if hasattr(data, "getlist") else (lambda key: _as_list(data.get(key)))
    query = " ".join(str(data.get("q") or "").split())[:MAX_QUERY_LENGTH]
    kind = data.get("kind") if data.get("kind") in KINDS else "groups"
    sort = data.get("sort") if data.get("sort") in SORTS else "relevance"
    try:
        page = max(1, min(int(data.get("page") or 1), 10_000))
    except (TypeError, ValueError):
        page = 1
    facets: dict[str, tuple[str, ...]] = {}
    for name in FACETS:
        values = []
        for raw in _expand_aliases(name, getlist(name)):
            value = str(raw).strip()
            if value and value not in values and _facet_value_valid(name, value):
                values.append(value)
        if values:
            facets[name] = tuple(values[:MAX_VALUES_PER_FACET])
    return SearchParams(query=query, kind=kind, facets=facets, sort=sort, page=page)


def feature_groups_search(
    *,
    user,
    query: str = "",
    facets: Mapping[str, tuple[str, ...]] | None = None,
    sort: str = "relevance",
    page: int = 1,
) -> SearchResults:
    params = SearchParams(query=query, kind="groups", facets=facets or {}, sort=sort, page=page)
    return _search(user=user, params=params)


def features_search(
    *,
    user,
    query: str = "",
    facets: Mapping[str, tuple[str, ...]] | None = None,
    sort: str = "relevance",
    page: int = 1,
) -> SearchResults:
    params = SearchParams(query=query, kind="features", facets=facets or {}, sort=sort, page=page)
    return _search(user=user, params=params)


def search_run(*, user, params: SearchParams) -> SearchResults:
    """Dispatch on params.kind; the page and the API both call this."""
    if params.kind == "features":
        return features_search(user=user, query=params.query, facets=params.facets, sort=params.sort, page=params.page)
    return feature_groups_search(
        user=user, query=params.query, facets=params.facets, sort=params.sort, page=params.page
    )


# --- internals ----------------------------------------------------------------


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _expand_aliases(name: str, raw_values: list) -> list:
    if name != "access":
        return raw_values
    return [slug for raw in raw_values for slug in ACCESS_SLUG_ALIASES.get(str(raw).strip(), (raw,))]


def _facet_value_valid(name: str, value: str) -> bool:
    if len(value) > 200:
        return False
    if name == "account":
        return bool(ACCOUNT_ID_RE.match(value))
    if name == "region":
        return bool(REGION_RE.match(value))
    if name == "tag":
        return "=" in value
    if name == "feature_type":
        return value in Feature.Type.values
    if name == "store":
        return value in STORES
    if name == "access":
        return value in ACCESS_SLUGS
    return True  # status: free text, matched exactly


def _tsquery_has_words(query: str) -> bool:
    """False for queries of punctuation or stop words only (an empty tsquery)."""
    if not any(ch.isalnum() for ch in query):
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT numnode(websearch_to_tsquery(%s::regconfig, %s)) > 0", [TEXT_CONFIG, query])
        return bool(cursor.fetchone()[0])


def _group_facet_filter(facets: Mapping[str, tuple[str, ...]], *, prefix: str = "") -> Q:
    """OR within a facet, AND across facets. `prefix` reaches groups from features."""
    condition = Q()
    if values := facets.get("account"):
        condition &= Q(**{f"{prefix}account__account_id__in": values})
    if values := facets.get("region"):
        condition &= Q(**{f"{prefix}region__in": values})
    if values := facets.get("status"):
        condition &= Q(**{f"{prefix}status__in": values})
    if values := facets.get("store"):
        store = Q()
        if "online" in values:
            store |= Q(**{f"{prefix}online_store_enabled": True})
        if "offline" in values:
            store |= Q(**{f"{prefix}offline_store_enabled": True})
        condition &= store
    if values := facets.get("tag"):
        tags = Q()
        for value in values:
            key, _, tag_value = value.partition("=")
            tags |= Q(**{f"{prefix}tags__contains": {key: tag_value}})
        condition &= tags
    return condition


def _access_levels(values: tuple[str, ...]) -> list[int]:
    return [access_level_for_slug(value) for value in values]


def _visible_groups(user, facets: Mapping[str, tuple[str, ...]], scope: VisibilityScope) -> QuerySet[FeatureGroup]:
    groups = FeatureGroup.objects.visible_to(user, scope=scope).live().filter(_group_facet_filter(facets))
    if values := facets.get("access"):
        groups = annotate_access_level(groups, user, scope=scope).filter(access_level__in=_access_levels(values))
    return groups


def _score(search_query: SearchQuery | None, query: str, popularity) -> object:
    lift = 1 + POPULARITY_WEIGHT * Ln(1 + popularity)
    if search_query is None:
        return Value(1.0, output_field=FloatField()) * lift
    rank = SearchRank(F("search_vector"), search_query, weights=RANK_WEIGHTS, cover_density=True, normalization=32)
    # Trigram similarity of the whole name to the query: the exact-name and
    # typo signal, cheap because it reads the name, not a vector.
    return (rank + TrigramSimilarity("name", query)) * lift


def _text_filter(search_query: SearchQuery | None) -> Q:
    return Q() if search_query is None else Q(search_vector=search_query)


def _query_corrected(query: str) -> str | None:
    """Replace words that name nothing with the closest word of any name, or None.

    Reads catalog_search_word (every word of every group and feature name,
    trigram-indexed; kept by triggers from migration 0004_search).
    """
    tokens = WORD_RE.findall(query.lower())[:MAX_CORRECTED_WORDS]
    if not tokens:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.tok, CASE WHEN length(t.tok) < 3 OR EXISTS (SELECT 1 FROM catalog_search_word w WHERE w.word = t.tok)
                     THEN t.tok
                     ELSE (SELECT w.word FROM catalog_search_word w WHERE w.word %% t.tok
                           ORDER BY similarity(w.word, t.tok) DESC, w.word LIMIT 1) END
            FROM unnest(%s::text[]) WITH ORDINALITY AS t(tok, n) ORDER BY t.n
            """,
            [tokens],
        )
        corrected = [fixed or token for token, fixed in cursor.fetchall()]
    return " ".join(corrected) if corrected != tokens else None


ORDERINGS = {
    "relevance": "c.score DESC, c.name, c.id",
    "name": "c.name, c.id",
    "recent": "c.modified DESC NULLS LAST, c.name, c.id",
    "popular": "c.popularity DESC, c.name, c.id",
}


def _search(*, user, params: SearchParams) -> SearchResults:
    query = params.query
    has_words = bool(query) and _tsquery_has_words(query)
    search_query = SearchQuery(query, search_type="websearch", config=TEXT_CONFIG) if has_words else None
    sort = params.sort if (has_words or params.sort != "relevance") else "popular"
    # The user's accounts and grants, read once for every statement below.
    scope = visibility_scope(user)
    if not (scope.everything or scope.member_accounts or scope.catalogs or scope.granted_groups):
        # Someone in no account yet (a first sign-in) sees nothing; there is no
        # SQL to run, since every statement below would filter on empty lists.
        outcome = {"total": 0, "facets": {}, "page_ids": [], "usage_data": False}
        return _results(params=params, query=query, has_words=has_words, outcome=outcome, corrected=None, scope=scope)
    outcome = _run(user=user, scope=scope, params=params, search_query=search_query, text=query, sort=sort)
    corrected = None
    if has_words and outcome["total"] < FUZZY_BELOW and not OPERATOR_RE.search(query):
        # Next to no hits for plain words: try again with misspelt words
        # replaced by the closest words of real names (`custmer` → `customer`).
        # Phrases and exclusions are meant literally and are left alone.
        corrected = _query_corrected(query)
        if corrected:
            retry = _run(
                user=user,
                scope=scope,
                params=params,
                search_query=SearchQuery(corrected, search_type="websearch", config=TEXT_CONFIG),
                text=corrected,
                sort=sort,
            )
            if retry["total"] > outcome["total"]:
                outcome = retry
            else:
                corrected = None
    return _results(params=params, query=query, has_words=has_words, outcome=outcome, corrected=corrected, scope=scope)


def _results(
    *,
    params: SearchParams,
    query: str,
    has_words: bool,
    outcome: dict,
    corrected: str | None,
    scope: VisibilityScope,
) -> SearchResults:
    cap = GROUP_CANDIDATES if params.kind == "groups" else FEATURE_CANDIDATES
    total = min(outcome["total"], cap)
    num_pages = max(1, ceil(total / PAGE_SIZE))
    return SearchResults(
        params=params,
        results=_page_rows(kind=params.kind, ids=outcome["page_ids"]),
        count=total,
        capped=outcome["total"] > cap,
        page=min(params.page, num_pages),
        num_pages=num_pages,
        facets=_facet_values(outcome["facets"], params.facets, kind=params.kind, scope=scope),
        fuzzy=corrected is not None,
        corrected_query=corrected or "",
        ignored_query=bool(query) and not has_words,
        usage_data=outcome["usage_data"],
    )


def _run(
    *, user, scope: VisibilityScope, params: SearchParams, search_query: SearchQuery | None, text: str, sort: str
) -> dict:
    """One statement: bounded candidates, facet counts, the page's ids."""
    groups = _visible_groups(user, params.facets, scope)
    match = _text_filter(search_query)
    if params.kind == "groups":
        cap = GROUP_CANDIDATES
        candidates = (
            groups.filter(match)
            .annotate(score=_score(search_query, text, F("popularity")), modified=F("aws_modified_at"))
            .values("id", "name", "score", "modified", "popularity")
        )
        group_ids_sql = "SELECT id FROM c"
    else:
        cap = FEATURE_CANDIDATES
        features = Feature.objects.filter(feature_group__in=groups.values("pk")).filter(match)
        if values := params.facets.get("feature_type"):
            features = features.filter(type__in=values)
        candidates = features.annotate(
            score=_score(search_query, text, F("feature_group__popularity")),
            modified=F("aws_modified_at"),
            popularity=F("feature_group__popularity"),
        ).values("id", "name", "score", "modified", "popularity", "type", "feature_group_id")
        group_ids_sql = "SELECT DISTINCT feature_group_id FROM c"
    # Without ORDER BY the planner takes the cheapest `cap + 1` matches (a
    # bitmap scan that stops early); ranking happens within them below.
    candidates_sql, candidates_params = candidates.order_by()[: cap + 1].query.sql_with_params()
    # Facet columns of the candidates' groups, with the user's access level,
    # computed only for the (bounded) groups that matched.
    # group_ids_sql is one of two constant strings naming the CTE below.
    in_candidates = RawSQL(group_ids_sql, [])  # noqa: S611
    group_columns = annotate_access_level(FeatureGroup.objects.filter(pk__in=in_candidates), user, scope=scope).values(
        "id", "account_id", "region", "tags", "online_store_enabled", "offline_store_enabled", "status", "access_level"
    )
    groups_sql, groups_params = group_columns.order_by().query.sql_with_params()
    join = "cg.id = c.id" if params.kind == "groups" else "cg.id = c.feature_group_id"
    # Is there usage data at all among the groups the user may see (facets
    # aside)? One row at most, found through the fg_popularity index.
    usage_sql, usage_params = (
        FeatureGroup.objects.visible_to(user, scope=scope)
        .live()
        .filter(popularity__gt=0)
        .values("id")
        .order_by()[:1]
        .query.sql_with_params()
    )
    # Each level counts under its own slug, the vocabulary of catalog.selectors.access.
    access_slugs_sql = " ".join(f"WHEN {a.level} THEN '{a.slug}'" for a in ACCESS_LEVELS)
    type_facet = (
        "UNION ALL SELECT 'feature_type', type, type, count(*) FROM c GROUP BY type"
        if params.kind == "features"
        else ""
    )
    # Interpolated pieces are ORM-compiled SQL (values stay parameters) and
    # constants of this module; user input only ever travels as parameters.
    sql = f"""
        WITH c AS MATERIALIZED ({candidates_sql}),
        cg AS MATERIALIZED ({groups_sql}),
        j AS (SELECT c.id, cg.* FROM c JOIN cg ON {join})
        SELECT 'total', '', '', count(*) FROM c
        UNION ALL SELECT 'account', a.account_id, a.name, count(*)
            FROM j JOIN catalog_awsaccount a ON a.id = j.account_id GROUP BY a.account_id, a.name
        UNION ALL SELECT 'region', region, region, count(*) FROM j GROUP BY region
        UNION ALL (SELECT 'tag', t.key || '=' || t.value, t.key || '=' || t.value, count(*)
            FROM j, jsonb_each_text(j.tags) t GROUP BY t.key, t.value ORDER BY count(*) DESC, 2 LIMIT {FACET_VALUES_SHOWN * 2})
        UNION ALL SELECT 'store', 'online', 'online', count(*) FROM j WHERE online_store_enabled
        UNION ALL SELECT 'store', 'offline', 'offline', count(*) FROM j WHERE offline_store_enabled
        UNION ALL SELECT 'status', status, status, count(*) FROM j WHERE status <> '' GROUP BY status
        UNION ALL SELECT 'access', CASE access_level {access_slugs_sql} END, '', count(*) FROM j GROUP BY 2
        {type_facet}
        UNION ALL SELECT 'usage', '', '', count(*) FROM ({usage_sql}) u
        UNION ALL (SELECT 'page', c.id::text, cg.access_level::text, 0 FROM c JOIN cg ON {join}
                   ORDER BY {ORDERINGS[sort]}
                   LIMIT {PAGE_SIZE}
                   -- a page past the end shows the last page instead
                   OFFSET LEAST(%s, (SELECT GREATEST(count(*) - 1, 0) / {PAGE_SIZE} * {PAGE_SIZE} FROM c)))
    """  # noqa: S608
    offset = min(params.page - 1, cap // PAGE_SIZE) * PAGE_SIZE
    with transaction.atomic(), connection.cursor() as cursor:
        # The planner's cost figures for these statements cross jit_above_cost,
        # and compiling them (~60 ms measured) costs more than running them.
        # Synchronised scans start wherever another scan of the table is, so a
        # capped candidate set ("the first N matches") could differ between
        # page 1 and page 2; from the start of the table it is the same each time.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL synchronize_seqscans = off")
        cursor.execute(sql, [*candidates_params, *groups_params, *usage_params, offset])
        rows = cursor.fetchall()
    total = 0
    usage_data = False
    facets: dict[str, dict[str, tuple[str, int]]] = {}
    page_ids: list[tuple[int, int]] = []  # (id, access level of its group)
    for dimension, value, label, count in rows:
        if dimension == "total":
            total = count
        elif dimension == "usage":
            usage_data = count > 0
        elif dimension == "page":
            page_ids.append((int(value), int(label)))
        elif count:
            bucket = facets.setdefault(dimension, {})
            previous = bucket.get(value, ("", 0))[1]
            bucket[value] = (label, previous + count)
    return {"total": total, "facets": facets, "page_ids": page_ids, "usage_data": usage_data}


def _facet_values(
    counted: dict[str, dict[str, tuple[str, int]]],
    selected: Mapping[str, tuple[str, ...]],
    *,
    kind: str,
    scope: VisibilityScope,
) -> dict[str, list[FacetValue]]:
    out: dict[str, list[FacetValue]] = {}
    # Selected values nothing was counted for are labelled from what the user
    # may see only: a hidden account and an unknown id both show the typed id.
    uncounted_accounts = [v for v in selected.get("account", ()) if v not in counted.get("account", {})]
    account_names = account_names_seen(scope=scope, account_ids=uncounted_accounts) if uncounted_accounts else {}
    for name in FACETS:
        if name == "feature_type" and kind != "features":
            continue
        chosen = selected.get(name, ())
        values = counted.get(name, {})
        items = []
        for value, (label, count) in values.items():
            if name == "access":
                label = access_label_for_slug(value)
            elif name == "store":
                label = STORES[value]
            items.append(FacetValue(value=value, label=label, count=count, selected=value in chosen))
        for value in chosen:
            if value not in values:  # keep a selected value visible, so it can be unticked
                label = account_names.get(value, value) if name == "account" else _facet_label(name, value)
                items.append(FacetValue(value=value, label=label, count=0, selected=True))
        items.sort(key=lambda item: (not item.selected, -item.count, item.label))
        out[name] = items[:FACET_VALUES_SHOWN] + [item for item in items[FACET_VALUES_SHOWN:] if item.selected]
    return out


def _facet_label(name: str, value: str) -> str:
    if name == "access":
        return access_label_for_slug(value)
    if name == "store":
        return STORES.get(value, value)
    return value


def _page_rows(*, kind: str, ids: list[tuple[int, int]]) -> list:
    """Load the page's rows in rank order; access levels come from the search statement."""
    if not ids:
        return []
    # The stored vectors and word lists are large and never shown: leave them in the database.
    if kind == "groups":
        rows = (
            FeatureGroup.objects.filter(pk__in=[pk for pk, _ in ids])
            .select_related("account")
            .defer("search_vector", "feature_words", "online_store_config")
        )
    else:
        rows = (
            Feature.objects.filter(pk__in=[pk for pk, _ in ids])
            .select_related("feature_group__account")
            .defer("search_vector", "feature_group__search_vector", "feature_group__feature_words")
        )
    by_id = {row.pk: row for row in rows}
    ordered = []
    for pk, access_level in ids:
        if row := by_id.get(pk):
            row.access_level = access_level
            ordered.append(row)
    return ordered
