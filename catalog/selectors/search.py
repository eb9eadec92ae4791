"""Search over feature groups and features: text match, typo fallback, facets, ranking.

The query path (measured in docs/search.md and docs/benchmarks.md):

1. The text match uses stored, GIN-indexed vectors (`search_lexemes` for
   groups, `search_vector` for features) and `websearch_to_tsquery('english', q)`;
   nothing computes a vector per query.
2. Everything starts from `FeatureGroup.objects.visible_to(user).live()` (plus
   the facet filters), compiled once into the WHERE of every candidate source,
   so results and facet counts only ever include what the user may see.
3. Matches form a *bounded candidate set* (at most `GROUP_CANDIDATES` or
   `FEATURE_CANDIDATES` rows), chosen by quality: exact name, name prefix,
   name words, then any text, each tier by popularity (see "candidate
   selection" below). Below the bound every figure is exact; above it the page
   says "more than N" and ranks, pages and counts facets within the
   candidates, so a facet's count still equals the results it leads to within
   what is shown.
4. One or two statements return the candidates with what facets and sorts
   need; facets and the page are counted from them in Python; one more
   statement fetches the page's rows for display.
5. When plain words find next to nothing, misspelt words are corrected
   against a trigram-indexed table of the words in names and the search runs
   again (`custmer_age` → `customer age`).
"""

from __future__ import annotations

import heapq
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache, partial
from itertools import chain
from math import ceil
from operator import itemgetter
from typing import NamedTuple

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connection, transaction
from django.db.models import Q, QuerySet

from catalog.models import FEATURE_NAME_PAIRS_ANY, AwsAccount, Feature, FeatureGroup
from catalog.scope import VisibilityScope, visibility_scope
from catalog.selectors.access import (
    ACCESS_SLUG_ALIASES,
    ACCESS_SLUGS,
    access_label_for_slug,
    access_level_for_slug,
    access_level_of,
    access_level_q,
    access_slug,
)
from catalog.selectors.accounts import account_names_seen
from portal.api_filters import whole_number_from_1

MAX_QUERY_LENGTH = 200
MAX_VALUES_PER_FACET = 10  # selected values accepted per facet from the URL
FACET_VALUES_SHOWN = 25  # values listed per facet (tags can be many)
PAGE_SIZE = 20
GROUP_CANDIDATES = 500
FEATURE_CANDIDATES = 500
TEXT_CONFIG = "english"

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
    results: list  # PageGroup or PageFeature rows, in display order
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


# The parameters whose values the API's schema enumerates (page: an integer). The page drops
# other values (links are hand-edited and shared); the API refuses them, as it refuses unknown
# parameters, so a typo (`sort=popularity`) is not read as "the API ignores my sort".


def _closed_values() -> dict[str, tuple[str, ...]]:
    return {
        "kind": KINDS,
        "sort": tuple(SORTS),
        "feature_type": tuple(Feature.Type.values),
        "store": tuple(STORES),
        "access": ACCESS_SLUGS,
    }


def search_params_errors(*, data) -> dict[str, list[str]]:
    """What the API refuses in the search parameters `data` (a QueryDict): {parameter: [why]}."""
    errors: dict[str, list[str]] = {}
    closed = _closed_values()
    for name in ("kind", "sort", "page"):
        if len(data.getlist(name)) > 1:
            errors[name] = ["Give it once."]
    for name in ("kind", "sort"):
        value = data.get(name)
        if name not in errors and value is not None and value not in closed[name]:
            errors[name] = [f"{value!r} is not one of: {', '.join(closed[name])}."]
    page = data.get("page")
    if "page" not in errors and page is not None and not whole_number_from_1(page):
        # As every list of the API checks and words it; a page past the end shows the last.
        errors["page"] = ["A whole number from 1."]
    for name in ("feature_type", "store", "access"):
        bad = [
            raw
            for raw in data.getlist(name)
            if not all(_facet_value_valid(name, str(value).strip()) for value in _expand_aliases(name, [raw]))
        ]
        if bad:
            errors[name] = [f"{value!r} is not one of: {', '.join(closed[name])}." for value in bad[:3]]
    return errors


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


def _group_facet_filter(facets: Mapping[str, tuple[str, ...]]) -> Q:
    """OR within a facet, AND across facets, on the group row alone (no joins)."""
    condition = Q()
    if values := facets.get("account"):
        # A subquery rather than a join: the candidate sources walk the group table alone.
        condition &= Q(account_id__in=AwsAccount.objects.filter(account_id__in=values).values("pk"))
    if values := facets.get("region"):
        condition &= Q(region__in=values)
    if values := facets.get("status"):
        condition &= Q(status__in=values)
    if values := facets.get("store"):
        store = Q()
        if "online" in values:
            store |= Q(online_store_enabled=True)
        if "offline" in values:
            store |= Q(offline_store_enabled=True)
        condition &= store
    if values := facets.get("tag"):
        tags = Q()
        for value in values:
            key, _, tag_value = value.partition("=")
            tags |= Q(tags__contains={key: tag_value})
        condition &= tags
    return condition


def _access_levels(values: tuple[str, ...]) -> list[int]:
    return [access_level_for_slug(value) for value in values]


def _visible_groups(user, facets: Mapping[str, tuple[str, ...]], scope: VisibilityScope) -> QuerySet[FeatureGroup]:
    groups = FeatureGroup.objects.visible_to(user, scope=scope).live().filter(_group_facet_filter(facets))
    if values := facets.get("access"):
        groups = groups.filter(access_level_q(scope, _access_levels(values)))
    return groups


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


# --- candidate selection ------------------------------------------------------
#
# Above the bound, which matches get ranked decides what a common word finds.
# Candidates are taken tier by tier, best first, and within a tier by
# popularity, each tier from its own index-backed source with a LIMIT:
#
#   0  the name is the query        (`Customer_Age` for "customer age")
#   1  the name starts with it      (`customer_age_v2`)    groups, plain words only
#   2  the name has every word      (`daily_customer_age`)
#   3  any text match               (descriptions, feature words, tags)
#
# The ranking function's inputs are the tier and POPULARITY_SQL, nothing else,
# so the usage app can change where popularity comes from (rollups) by
# pointing POPULARITY_SQL at another group column with a (-column, id) index
# like fg_popularity_walk, which the popularity-ordered sources walk.
TIER_EXACT_NAME, TIER_NAME_PREFIX, TIER_NAME_WORDS, TIER_TEXT = 0, 1, 2, 3
GROUPS_TABLE = '"catalog_featuregroup"'
PAIRS_TABLE = '"catalog_featurenamepairs"'
FEATURES_TABLE = '"catalog_feature"'
POPULARITY_SQL = f"{GROUPS_TABLE}.popularity"
TSQUERY_SQL = "websearch_to_tsquery('english'::regconfig, %s)"
# Same expression as the fg_name_key / feature_name_key indexes (catalog.models.name_key_expression).
NAME_KEY_SQL = "lower(regexp_replace({column}, '[^a-zA-Z0-9]+', '', 'g'))"
NAME_KEY_RE = re.compile(r"[^a-zA-Z0-9]+")
# The query restricted to weight A (a feature's name): each quoted lexeme gets `:A`.
NAME_WEIGHTED_TSQUERY_SQL = (
    "(regexp_replace((" + TSQUERY_SQL + ")::text, '(''(?:[^'']|'''')*'')', '\\1:A', 'g'))::tsquery"
)
BASE_PARAMS = object()  # placeholder for the gate's parameters in a source's parameter list

ORDERINGS = {
    "relevance": "c.ord",
    "name": "r.name, r.id",
    "recent": "r.aws_modified_at DESC NULLS LAST, r.name, r.id",
    "popular": "g.popularity DESC, r.name, r.id",
}


def name_key(text: str) -> str:
    """The query side of catalog.models.name_key_expression."""
    return NAME_KEY_RE.sub("", text).lower()


def _base_where(user, facets: Mapping[str, tuple[str, ...]], scope: VisibilityScope) -> tuple[str, list]:
    """WHERE over catalog_featuregroup alone: visible, live, facet-filtered (the one gate, compiled once)."""
    sql, params = _base_where_compiled(scope, tuple(sorted(facets.items())))
    return sql, list(params)


@lru_cache(maxsize=256)
def _base_where_compiled(scope: VisibilityScope, facets: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[str, tuple]:
    """The ORM compile of the gate, remembered per (scope, facets).

    The SQL is a function of the scope's contents (the user's accounts and
    grants, read afresh for every request) and the facets alone, so equal
    inputs give equal SQL; compiling it cost ~1 ms a request (more under
    load), and a live search asks again on every keystroke.
    """
    groups = _visible_groups(None, dict(facets), scope)
    compiler = groups.query.get_compiler(using=groups.db)
    try:
        sql, params = compiler.compile(groups.query.where)
    except EmptyResultSet:  # e.g. `access=admin` for someone granted no admin access
        return "FALSE", ()
    except FullResultSet:
        return "TRUE", ()
    return sql, tuple(params)


class _Source(NamedTuple):
    sql: str
    before: list  # parameters before {base}
    after: list  # parameters after it
    # Planned as usual even where the facet walk is forced on the others (see _candidates).
    own_plan: bool = False
    # The same tier as a lookup of the words, taken where few features match them (see _candidates).
    lookup: _Source | None = None


def _candidate_sources(
    *,
    kind: str,
    query: str,
    phrase: bool,
    negated: bool,
    facets: Mapping[str, tuple[str, ...]],
    text_common: bool = False,
    name_common: bool = False,
    exact_alone: bool = False,
    name_pairs: tuple[str, str] | None = None,
) -> list[_Source]:
    """(sql, params before {base}, params after) per tier, best tier first.

    Each selects (id, tier), best first within its tier; `{base}` stands for
    the group gate of `_base_where`. `exact_alone`: the exact-name tier is a
    statement of its own (the first), not part of the name tiers' statement.
    `name_pairs`: (form, pair tsquery) — the features' name tier walks only the
    groups whose FeatureNamePairs row holds every pair of the query's words
    (see _feature_name_pairs_estimate).
    """
    plain = bool(query) and not OPERATOR_RE.search(query)
    key = name_key(query) if plain else ""
    extra, extra_params = "", []
    if kind == "groups":
        table, source = GROUPS_TABLE, GROUPS_TABLE
        order = f"{POPULARITY_SQL} DESC, {GROUPS_TABLE}.id"
        match, match_params = f"{table}.search_lexemes @@ {TSQUERY_SQL}", [query]
        if phrase:
            # The lexemes have no positions, so a phrase is matched there as
            # "all its words" (a superset, through the GIN index) and then
            # checked on the full vector. Under a negation that superset
            # would exclude too much, so only the full vector decides.
            words_only = f"regexp_replace(({TSQUERY_SQL})::text, '<[0-9-]+>', '&', 'g')::tsquery"
            match = (
                f"{table}.search_vector @@ {TSQUERY_SQL}"
                if "!" in query or "-" in query
                else f"{table}.search_lexemes @@ {words_only} AND {table}.search_vector @@ {TSQUERY_SQL}"
            )
            match_params = [query] if "!" in query or "-" in query else [query, query]
        name_words, words_params = f"{table}.name_vector @@ {TSQUERY_SQL}", [query]
    else:
        table = FEATURES_TABLE
        source = f"{table} JOIN {GROUPS_TABLE} ON {GROUPS_TABLE}.id = {table}.feature_group_id"
        order = f"{POPULARITY_SQL} DESC, {GROUPS_TABLE}.id, {table}.id"
        match, match_params = f"{table}.search_vector @@ {TSQUERY_SQL}", [query]
        # A feature's name words: one expression, which two indexes serve and
        # the planner chooses between by how common the words are in names
        # (the expression's statistics). Rare: looked up in the GIN index
        # feature_name_vector. Common: groups walked by popularity, each
        # group's features read from feature_group_name_words alone (an
        # index-only scan). The weighted search vector used to stand in for
        # the walk, read from the heap row of every feature (~24 µs a group).
        name_words, words_params = f"to_tsvector('english'::regconfig, {table}.name) @@ {TSQUERY_SQL}", [query]
        if negated and name_common:
            # An exclusion is checked on each feature's heap row (its whole text). With words
            # common in names the walk reads that row anyway, so the name condition is checked
            # there too (the stored vector at its name weight) instead of in a second index.
            name_words, words_params = f"{table}.search_vector @@ {NAME_WEIGHTED_TSQUERY_SQL}", [query]
        if values := facets.get("feature_type"):
            extra, extra_params = f" AND {table}.type = ANY(%s)", [list(values)]
    key_sql = NAME_KEY_SQL.format(column=f"{table}.name")
    limit = (GROUP_CANDIDATES if kind == "groups" else FEATURE_CANDIDATES) + 1
    select = f"SELECT {table}.id"
    if not query:
        return [
            _Source(
                f"{select}, {TIER_TEXT} FROM {source} WHERE {{base}}{extra} ORDER BY {order} LIMIT {limit}",
                [],
                extra_params,
            )
        ]
    # The name tiers share one statement (both are small index scans); the
    # text tier runs only if they leave room.
    # Without a negation the query is monotone (AND, OR, phrases), and a
    # name match is then a text match (the name is part of the text, at the
    # same positions): the name tier reads only what the popularity index
    # carries. An exclusion must also hold on the whole text.
    name_match, name_params = (
        (f"{name_words} AND {match}", [*words_params, *match_params]) if negated else (name_words, words_params)
    )
    name_tiers = (
        f"({select}, {TIER_NAME_WORDS} FROM {source} WHERE {{base}}{extra} AND {name_match}"
        f" ORDER BY {order} LIMIT {limit})"
    )
    name_before, name_after = [], [*extra_params, *name_params]
    if name_pairs is not None and kind == "features" and not negated:
        # Only the visible groups that can hold a match: their FeatureNamePairs row has every
        # pair of the query's words (one name holds both). "walk": the gate's groups walked by
        # popularity index-only, each checked against the pairs' groups hashed once (a hashed
        # subplan: `IS TRUE` keeps the planner from turning it into a join, which loses the
        # order and reads every visible group); "lookup": few groups have the pairs, so they
        # are read by primary key and sorted. Either way each group's matching features are
        # read from feature_group_name_words in id order, and the walk stops at the cap.
        form, pairs_query = name_pairs
        pairs_groups = f"SELECT p.feature_group_id FROM {PAIRS_TABLE} p WHERE p.pairs @@ %s::tsquery"  # noqa: S608
        held = (
            f"({GROUPS_TABLE}.id IN ({pairs_groups})) IS TRUE"
            if form == "walk"
            else f"{GROUPS_TABLE}.id IN ({pairs_groups} OFFSET 0)"
        )
        groups = (
            f"SELECT {GROUPS_TABLE}.id, {POPULARITY_SQL} FROM {GROUPS_TABLE} WHERE {{base}} AND {held}"  # noqa: S608
            f" ORDER BY {POPULARITY_SQL} DESC, {GROUPS_TABLE}.id"
        )
        matching = (
            f"SELECT {table}.id FROM {table} WHERE {table}.feature_group_id = w.id{extra} AND {name_words}"  # noqa: S608
            f" ORDER BY {table}.id LIMIT {limit}"
        )
        name_tiers = (
            f"(SELECT l.id, {TIER_NAME_WORDS} FROM ({groups}) w(id, popularity) CROSS JOIN LATERAL ({matching}) l"  # noqa: S608
            f" ORDER BY w.popularity DESC, w.id, l.id LIMIT {limit})"
        )
        name_after = [pairs_query, *extra_params, *words_params]
    sources: list[_Source] = []
    if key:
        # Exact: an equality probe of the name-key index.
        exact = (
            f"({select}, {TIER_EXACT_NAME} FROM {source} WHERE {{base}}{extra} AND {key_sql} = %s"
            f" ORDER BY {order} LIMIT {limit})"
        )
        if kind == "groups":
            # Prefix: ordered by popularity on its own, so a prefix shared by
            # much of the catalogue (`customer…`) walks the popularity index
            # and stops early. Not for features: a feature's popularity is its
            # group's, and finding the most popular of ten thousand
            # `payment_amount…` features means reading all of them (measured:
            # ~0.5 s), while the name-words tier below already ranks them.
            name_tiers = (
                f"{exact} UNION ALL ({select}, {TIER_NAME_PREFIX} FROM {source} WHERE {{base}}{extra}"
                f" AND {key_sql} LIKE %s ORDER BY {order} LIMIT {limit}) UNION ALL {name_tiers}"
            )
            # {base} appears three times: its parameters are repeated for each part.
            name_after = [*extra_params, key, BASE_PARAMS, *extra_params, key + "%", BASE_PARAMS, *name_after]
        elif exact_alone:
            sources.append(_Source(exact, [], [*extra_params, key], own_plan=True))
        else:
            name_tiers = f"{exact} UNION ALL {name_tiers}"
            name_after = [*extra_params, key, BASE_PARAMS, *name_after]
        name_before = []
    sources.append(_Source(name_tiers, name_before, name_after))
    text_tier = f"{select}, {TIER_TEXT} FROM {source} WHERE {{base}}{extra} AND {match} ORDER BY {order} LIMIT {limit}"
    if kind == "groups" and text_common:
        # Text most groups match: walk the gate's groups by popularity
        # index-only (fg_popularity_walk carries the gate and facet columns),
        # and read a group's row for its lexemes only once it passed them. A
        # plain walk read the heap row of every group it passed, visible or
        # not (measured: 106 ms → 19 ms for `days` with two facets). Rare text
        # keeps the GIN lookup above, which this form would defeat.
        walked = (
            f"SELECT {GROUPS_TABLE}.id, {POPULARITY_SQL} FROM {GROUPS_TABLE} WHERE {{base}}{extra}"  # noqa: S608
            f" ORDER BY {order} OFFSET 0"
        )
        text_tier = (
            f"SELECT w.id, {TIER_TEXT} FROM ({walked}) w(id, popularity)"  # noqa: S608
            f" JOIN {GROUPS_TABLE} m ON m.id = w.id WHERE {match.replace(GROUPS_TABLE + '.', 'm.')}"
            f" ORDER BY w.popularity DESC, w.id LIMIT {limit}"
        )
    lookup = None
    if kind == "features":
        # Text few features have (a misspelt word, which a typo's first try always is): the
        # words looked up in feature_search_vector first, fenced (OFFSET 0) so the planner
        # cannot turn it into a walk by popularity. It did for `merchnt` on the bench catalogue
        # before a VACUUM: expecting ~13,000 matches spread evenly, it walked every visible
        # group reading each one's features to find none (360 ms, against ~2 ms for the lookup).
        matched = f"SELECT {table}.id FROM {table} WHERE {match} OFFSET 0"  # noqa: S608
        lookup = _Source(
            f"SELECT {table}.id, {TIER_TEXT} FROM ({matched}) m JOIN {table} ON {table}.id = m.id"  # noqa: S608
            f" JOIN {GROUPS_TABLE} ON {GROUPS_TABLE}.id = {table}.feature_group_id"
            f" WHERE {{base}}{extra} ORDER BY {order} LIMIT {limit}",
            list(match_params),
            list(extra_params),
            own_plan=True,
        )
    sources.append(_Source(text_tier, [], [*extra_params, *match_params], lookup=lookup))
    return sources


class Candidate(NamedTuple):
    """One candidate row with what facets and sorts need, read by the source that found it.

    A named tuple: built from the row in one call (a frozen dataclass set
    each of its fields through object.__setattr__, 500 rows a search).
    """

    id: int
    group_id: int
    name: str
    modified: float | None  # aws_modified_at as a Unix time (plain floats load faster than datetimes)
    popularity_desc: float  # -popularity: ascending sort keys built in C then order by popularity down
    account_id: str  # the 12-digit id
    account_name: str
    account_pk: int
    region: str
    status: str
    online: bool
    offline: bool
    tags: list[str]  # "key=value" (a text array loads faster than jsonb parsed in Python)
    feature_type: str  # features only
    tier: int  # the candidate source's quality tier (0 best)


TAG_PAIRS_SQL = "ARRAY(SELECT t.key || '=' || t.value FROM jsonb_each_text(g.tags) t)"


def _candidate_columns(kind: str) -> str:
    """Columns read for each of the (at most cap + 1) rows a source returns, by primary key."""
    row = "g" if kind == "groups" else "f"
    feature_type = "f.type" if kind == "features" else "''"
    return (
        f"s.id, g.id, {row}.name, extract(epoch FROM {row}.aws_modified_at)::float8, -g.popularity, a.account_id, a.name, a.id,"
        f" g.region, g.status, g.online_store_enabled, g.offline_store_enabled,"
        f" {TAG_PAIRS_SQL}, {feature_type}, s.tier"
    )


def _candidate_joins(kind: str) -> str:
    if kind == "groups":
        return f"JOIN {GROUPS_TABLE} g ON g.id = s.id JOIN catalog_awsaccount a ON a.id = g.account_id"
    return (
        f"JOIN {FEATURES_TABLE} f ON f.id = s.id JOIN {GROUPS_TABLE} g ON g.id = f.feature_group_id"
        " JOIN catalog_awsaccount a ON a.id = g.account_id"
    )


# Feature names matching the query, as the planner estimates them, from
# which the name tier walks groups by popularity even where the planner
# misjudges a facet (see _candidates).
NAME_WALK_FROM = 20_000


# The planner's estimates, remembered for a few minutes per query: they only
# choose between plans or equivalent forms of a condition (never what is
# found), move only when ANALYZE runs, and a live search repeats its query.
ESTIMATE_TTL_SECONDS = 300
ESTIMATES_KEPT = 1024
_estimates: dict[str, tuple[float, object]] = {}


def _estimate_cached(key: str, plan: Callable[[], object]) -> object:
    """`plan()`, remembered under `key` for ESTIMATE_TTL_SECONDS (see above)."""
    now = time.monotonic()
    cached = _estimates.get(key)
    if cached and cached[0] > now:
        return cached[1]
    if len(_estimates) >= ESTIMATES_KEPT:
        _estimates.clear()
    estimate = plan()
    _estimates[key] = (now + ESTIMATE_TTL_SECONDS, estimate)
    return estimate


def _feature_name_matches_estimate(cursor, query: str) -> float:
    """The planner's estimate of features whose name has the query's words (cached, see above)."""
    return _estimate_cached(query, lambda: _feature_name_matches_planned(cursor, query))


# Above this share of all groups matching the text (as the planner
# estimates it), the groups' text tier walks by popularity instead of
# looking the words up in the GIN index (see _candidate_sources).
TEXT_WALK_FROM = 0.05


# Features whose text matches (as the planner estimates it) below which the features' text tier
# looks the words up instead of walking groups by popularity. A walk pays for every visible group
# it passes (~24 µs: its features' heap rows) until it has the cap; a lookup pays per match.
TEXT_LOOKUP_BELOW = 20_000


def _feature_text_matches_estimate(cursor, query: str) -> float:
    """An upper bound of the features whose text matches, as the planner estimates it (cached like
    the names')."""
    return _estimate_cached("features text\0" + query, lambda: _feature_text_matches_planned(cursor, query))


# The query as PostgreSQL parsed it, and its lexemes, each a quoted tsquery literal ('it''s').
PARSED_QUERY_SQL = (
    "SELECT q::text, ARRAY(SELECT m[1] FROM regexp_matches(q::text, '(''(?:[^'']|'''')+'')', 'g') AS m)"  # noqa: S608
    f" FROM {TSQUERY_SQL} q"
)


# The features' name tier reads only groups whose FeatureNamePairs row holds every pair of the
# query's words when, by the planner's estimate, fewer than this share of groups hold them
# (above it most groups walked would be probed anyway; and the planner, which does not count
# the de-TOAST of each row's pairs, then reads the pairs table sequentially: 240 ms for
# `customer age`, 39 % of groups). Below PAIRS_LOOKUP_BELOW groups they are looked up by
# primary key instead of hashed against a walk of every visible group.
PAIRS_WALK_BELOW = 0.25
PAIRS_LOOKUP_BELOW = 2_000
# The walk hashes the groups holding the pairs once; past the planner's hash memory (work_mem ×
# hash_mem_multiplier, 8 MB by default) it would instead look them up again for every group
# walked. ~50 bytes a group hashed: 50,000 groups stay far below.
PAIRS_HASHED_MAX = 50_000
# Pairs of at most this many of the query's words are asked for (any subset of the pairs
# still only drops groups that cannot match).
PAIRS_WORDS_MAX = 8


def _feature_name_pairs_estimate(cursor, query: str) -> tuple[str | None, float, float]:
    """(pairs tsquery or None, groups the planner expects to hold them, all groups), cached."""
    return _estimate_cached("pairs\0" + query, lambda: _feature_name_pairs_planned(cursor, query))


def _tsquery_lexeme(literal: str) -> str:
    """A lexeme from its quoted tsquery form ('it''s' → it's)."""
    return re.sub(r"\\(.)", r"\1", literal[1:-1].replace("''", "'"))


def _tsquery_literal(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def name_pairs_query(tsquery: str, lexemes: list[str]) -> str | None:
    """The FeatureNamePairs query a name tier match implies: every pair of its words, or None.

    Only a query every match must hold all words of (AND, phrases: no `|`, no `!`) implies
    them, and only two or more distinct words make a pair. Pairs are the two lexemes in byte
    order (as the triggers of migration 0013 store them, COLLATE "C"), space-separated; a group
    with too many pairs to store holds `?`, which every pairs query accepts.
    """
    if "|" in tsquery or "!" in tsquery:
        return None
    words = sorted({_tsquery_lexeme(lexeme) for lexeme in lexemes}, key=lambda w: w.encode())
    words = words[:PAIRS_WORDS_MAX]
    if len(words) < 2:
        return None
    pairs = [_tsquery_literal(f"{a} {b}") for i, a in enumerate(words) for b in words[i + 1 :]]
    return f"({' & '.join(pairs)}) | {_tsquery_literal(FEATURE_NAME_PAIRS_ANY)}"


def _feature_name_pairs_planned(cursor, query: str) -> tuple[str | None, float, float]:
    cursor.execute(PARSED_QUERY_SQL, [query])
    tsquery, lexemes = cursor.fetchone()
    pairs = name_pairs_query(tsquery, lexemes)
    if pairs is None:
        return None, 0.0, 0.0
    held, total = _planned_rows(
        cursor,
        [f"SELECT 1 FROM {PAIRS_TABLE} WHERE pairs @@ %s::tsquery", f"SELECT 1 FROM {GROUPS_TABLE}"],  # noqa: S608
        [pairs],
    )
    return pairs, held, total


def _feature_text_matches_planned(cursor, query: str) -> float:
    # The estimate of the rarest word on its own. The planner multiplies the words'
    # selectivities for `a & b`: far below the truth for words that go together ("refreshed
    # hourly" in templated descriptions), and a lookup chosen on that figure would read every
    # real match. Each word alone bounds the matches of a query that needs them all (AND, a
    # phrase); with an OR or a negation no word does, and the planner keeps its own choice.
    cursor.execute(PARSED_QUERY_SQL, [query])
    tsquery, lexemes = cursor.fetchone()
    if "|" in tsquery or "!" in tsquery:
        return float("inf")
    lexemes = sorted(set(lexemes))
    if not lexemes:
        return 0.0
    one_word = f"SELECT 1 FROM {FEATURES_TABLE} WHERE search_vector @@ %s::tsquery"  # noqa: S608
    return min(_planned_rows(cursor, [one_word] * len(lexemes), lexemes))


def _group_text_share_estimate(cursor, query: str) -> float:
    """The planner's estimate of the share of groups whose lexemes match (cached like the names')."""
    return _estimate_cached("groups\0" + query, lambda: _group_text_share_planned(cursor, query))


def _group_text_share_planned(cursor, query: str) -> float:
    # One EXPLAIN, two plans: the matches and the whole table.
    matches, total = _planned_rows(
        cursor,
        [f"SELECT 1 FROM {GROUPS_TABLE} WHERE search_lexemes @@ {TSQUERY_SQL}", f"SELECT 1 FROM {GROUPS_TABLE}"],  # noqa: S608
        [query],
    )
    return matches / total if total else 0.0


def _feature_name_matches_planned(cursor, query: str) -> float:
    """The planner's estimate of features whose name has the query's words (planning only, ~1 ms)."""
    (rows,) = _planned_rows(
        cursor,
        [f"SELECT 1 FROM {FEATURES_TABLE} WHERE to_tsvector('english'::regconfig, name) @@ {TSQUERY_SQL}"],  # noqa: S608
        [query],
    )
    return rows


def _planned_rows(cursor, selects: list[str], params: list) -> list[float]:
    """The planner's row estimate of each statement, from one `EXPLAIN` (planning only) of them
    joined by UNION ALL; `params` are all their parameters in order."""
    cursor.execute(f"EXPLAIN (FORMAT JSON) {' UNION ALL '.join(selects)}", params)
    plan = cursor.fetchone()[0]
    top = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    return [float(part["Plan Rows"]) for part in (top["Plans"] if len(selects) > 1 else [top])]


def _candidates(
    cursor, *, kind: str, base: tuple[str, list], query: str, phrase: bool, negated: bool, facets
) -> list[Candidate]:
    """Up to cap + 1 candidates, best first: tier, then popularity (see above).

    Each source is asked for cap + 1 rows: at most as many as were already
    taken can repeat, so what is left is still the best of its tier. A source
    runs only while the candidates are short, so a common word costs one or
    two popularity-ordered index walks that stop early. The columns facets
    and sorts need are read only for the rows a source returns.
    """
    limit = (GROUP_CANDIDATES if kind == "groups" else FEATURE_CANDIDATES) + 1
    base_sql, base_params = base
    seen: set[int] = set()
    ordered: list[Candidate] = []
    columns, joins = _candidate_columns(kind), _candidate_joins(kind)
    # Words common in feature names are found by walking groups by popularity
    # (fg_popularity_walk; the tags come from the heap) and stopping at the
    # cap. With a tag or access facet the planner misjudges how many groups
    # pass (the access rules repeat the gate's conditions, and it multiplies
    # them), and looked every tagged group up in fg_tags or scanned them all,
    # then read every feature of each (measured: 290 ms instead of ~20). For
    # these statements only, the walk is the plan it may choose.
    # With the facet's groups misjudged as few, the walk also had to be told not to sort: the
    # planner read every group by primary key and sorted the "few" that passed (measured: 90 ms,
    # 260 ms p95, for `customer count` with a tag once the tags left fg_popularity_walk). The exact
    # name tier is then a statement of its own, planned as usual: a probe of the name-key index
    # (walking every group to find no exact match cost 98 ms).
    walk_facet = bool(facets.get("tag") or facets.get("access"))
    name_common = (
        kind == "features"
        and bool(query)
        and (walk_facet or negated)
        and _feature_name_matches_estimate(cursor, query) >= NAME_WALK_FROM
    )
    walk = name_common and walk_facet
    walk_settings = None
    text_common = kind == "groups" and bool(query) and _group_text_share_estimate(cursor, query) >= TEXT_WALK_FROM
    name_pairs = None
    if kind == "features" and query and not negated and not walk:
        # (The forced walk turns bitmap scans off, and the pairs' GIN index has no other scan.)
        pairs, held, total = _feature_name_pairs_estimate(cursor, query)
        if pairs is not None and held < min(PAIRS_WALK_BELOW * total, PAIRS_HASHED_MAX):
            name_pairs = ("lookup" if held < PAIRS_LOOKUP_BELOW else "walk", pairs)
    sources = _candidate_sources(
        kind=kind,
        query=query,
        phrase=phrase,
        negated=negated,
        facets=facets,
        text_common=text_common,
        name_common=name_common,
        exact_alone=walk,
        name_pairs=name_pairs,
    )
    for source in sources:
        if len(ordered) >= limit:
            break
        if source.lookup is not None and _feature_text_matches_estimate(cursor, query) < TEXT_LOOKUP_BELOW:
            source = source.lookup
        sql, before, after, own_plan, _ = source
        if own_plan and walk_settings is not None:
            # A lookup needs the bitmap scans the forced walk turned off: put them back first.
            _walk_settings_restore(cursor, walk_settings)
            walk_settings = None
        if walk and walk_settings is None and not own_plan:
            # SET LOCAL for the rest of this transaction; the values before are put back below.
            cursor.execute(
                "SELECT current_setting('enable_bitmapscan'), current_setting('enable_seqscan'),"
                " current_setting('enable_sort'), set_config('enable_bitmapscan', 'off', true),"
                " set_config('enable_seqscan', 'off', true), set_config('enable_sort', 'off', true)"
            )
            walk_settings = cursor.fetchone()[:3]
        # `base` is ORM-compiled SQL (values are parameters); BASE_PARAMS in
        # `after` marks where its parameters go again when it appears twice.
        values = [*before, *base_params]
        for value in after:
            values.extend(base_params if value is BASE_PARAMS else [value])
        statement = f"SELECT {columns} FROM ({sql.replace('{base}', base_sql)}) s(id, tier) {joins}"  # noqa: S608
        cursor.execute(statement, values)
        rows = cursor.fetchall()
        # Each tier's rows come in popularity order (then id); the joins may
        # reorder them, so order again: by tier, popularity, group, row.
        rows.sort(key=_CANDIDATE_ORDER)
        ids = list(map(_ID, rows))
        if seen or len(set(ids)) < len(ids):
            # A row found before (by an earlier source, or twice by this one) keeps its first place.
            fresh = []
            for pk, row in zip(ids, rows, strict=True):
                if pk not in seen:
                    seen.add(pk)
                    fresh.append(row)
            rows = fresh
        else:
            seen.update(ids)  # the usual case, one source: no Python code per row
        ordered.extend(map(_CANDIDATE, rows))
    if walk_settings is not None:
        _walk_settings_restore(cursor, walk_settings)
    return ordered[:limit]


def _walk_settings_restore(cursor, walk_settings) -> None:
    cursor.execute(
        "SELECT set_config('enable_bitmapscan', %s, true), set_config('enable_seqscan', %s, true),"
        " set_config('enable_sort', %s, true)",
        list(walk_settings),
    )


def _search(*, user, params: SearchParams) -> SearchResults:
    query = params.query
    # The user's accounts and grants, read once for every statement below.
    scope = visibility_scope(user)
    if not (scope.everything or scope.member_accounts or scope.catalogs or scope.granted_groups):
        # Someone in no account yet (a first sign-in) sees nothing; there is no
        # SQL to run, since every statement below would filter on empty lists.
        has_words = bool(query) and _tsquery_has_words(query)
        outcome = {"total": 0, "facets": {}, "page_ids": [], "usage_data": False}
        return _results(params=params, query=query, has_words=has_words, outcome=outcome, corrected=None, scope=scope)
    base = _base_where(user, params.facets, scope)
    # Is there usage data at all among the groups the user may see (facets
    # aside)? One index probe, in the first statement.
    # Without facets the gate is the same WHERE as `base`: no second compile.
    gate_sql, gate_params = _base_where(user, {}, scope) if params.facets else base
    usage_sql = f"SELECT 1 FROM {GROUPS_TABLE} WHERE {gate_sql} AND {POPULARITY_SQL} > 0 LIMIT 1"  # noqa: S608
    usage_params = gate_params
    with transaction.atomic(), connection.cursor() as cursor:
        # Plans over two million features can cross jit_above_cost, and
        # compiling them (~60 ms measured) costs more than running them. The
        # same round trip asks whether the query has words, whether it holds a
        # phrase (which the position-free lexemes cannot check alone) and
        # whether there is usage data.
        settings_sql = "set_config('jit', 'off', true), set_config('max_parallel_workers_per_gather', '0', true)"
        checks_sql = f"numnode(q) > 0, strpos(q::text, '<') > 0, strpos(q::text, '!') > 0, EXISTS ({usage_sql})"
        cursor.execute(
            f"SELECT {settings_sql}, {checks_sql} FROM {TSQUERY_SQL} q",  # noqa: S608 (ORM-compiled SQL, constants)
            [*usage_params, query if any(ch.isalnum() for ch in query) else ""],
        )
        _, _, has_words, phrase, negated, usage_data = cursor.fetchone()
        has_words = bool(query) and bool(has_words)
        text = query if has_words else ""
        sort = params.sort if (has_words or params.sort != "relevance") else "popular"
        outcome = _run(
            cursor, scope=scope, params=params, base=base, text=text, phrase=phrase, negated=negated, sort=sort
        )
        corrected = None
        if has_words and outcome["total"] < FUZZY_BELOW and not OPERATOR_RE.search(query):
            # Next to no hits for plain words: try again with misspelt words
            # replaced by the closest words of real names (`custmer` → `customer`).
            # Phrases and exclusions are meant literally and are left alone.
            corrected = _query_corrected(query)
            if corrected:
                retry = _run(
                    cursor,
                    scope=scope,
                    params=params,
                    base=base,
                    text=corrected,
                    phrase=False,
                    negated=False,
                    sort=sort,
                )
                if retry["total"] > outcome["total"]:
                    outcome = retry
                else:
                    corrected = None
    outcome["usage_data"] = bool(usage_data)
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


def _page(shown: list[Candidate], sort: str, offset: int) -> list[Candidate]:
    """The page's rows, `offset` into the order the sort gives: relevance keeps the candidates'.

    Only the rows up to the page's end are ordered (`heapq.nsmallest`, which equals sorting and
    slicing, ties included): the first page of 500 candidates compares most rows once against
    the 20th best instead of sorting them all. The keys are `itemgetter`s, built in C.
    """
    end = offset + PAGE_SIZE
    if sort == "name":
        return heapq.nsmallest(end, shown, key=_NAME_ID)[offset:]
    if sort == "popular":
        return heapq.nsmallest(end, shown, key=_POPULAR)[offset:]
    if sort == "recent":
        # Newest first, rows without a time last.
        return heapq.nsmallest(end, shown, key=lambda c: (c.modified is None, -(c.modified or 0), c.name, c.id))[
            offset:
        ]
    return shown[offset:end]


def _columns(*names: str) -> itemgetter:
    return itemgetter(*(Candidate._fields.index(name) for name in names))


_ID = _columns("id")
_CANDIDATE = partial(tuple.__new__, Candidate)  # Candidate._make without a Python call a row
_NAME_ID = _columns("name", "id")
_POPULAR = _columns("popularity_desc", "name", "id")
# The candidates' order: tier, popularity down, then group and row.
_CANDIDATE_ORDER = _columns("tier", "popularity_desc", "group_id", "id")


def _run(
    cursor, *, scope: VisibilityScope, params: SearchParams, base, text: str, phrase: bool, negated: bool, sort: str
) -> dict:
    """The candidates (one or two statements), then facets and the page from them in Python."""
    candidates = _candidates(
        cursor, kind=params.kind, base=base, query=text, phrase=phrase, negated=negated, facets=params.facets
    )
    cap = GROUP_CANDIDATES if params.kind == "groups" else FEATURE_CANDIDATES
    # Facets and pages cover at most `cap` candidates; one more only says there are more.
    shown = candidates[:cap]
    if not shown:
        return {"total": 0, "facets": {}, "page_ids": [], "usage_data": False}
    # The rows as columns, transposed in C: each facet is then one C-level Counter pass over a
    # column, with no Python code run per row. (Every row has every column; strict would add a
    # check per value, a third more.)
    columns = Candidate._make(zip(*shown, strict=False))
    # A group's level depends on its id only through direct grants; other groups share it per
    # (account, region): one level computed per catalog, then looked up per row in C.
    granted = scope.granted_groups
    catalogs = list(zip(columns.account_pk, columns.region, strict=True))
    by_catalog = {
        where: access_level_of(scope, group_id=None, account_id=where[0], region=where[1]) for where in set(catalogs)
    }

    def level_of(c: Candidate) -> int:
        if c.group_id in granted:
            return access_level_of(scope, group_id=c.group_id, account_id=c.account_pk, region=c.region)
        return by_catalog[(c.account_pk, c.region)]

    if granted.isdisjoint(columns.group_id):
        levels = Counter(map(by_catalog.__getitem__, catalogs))
    else:
        levels = Counter(map(level_of, shown))
    account_names = dict(zip(columns.account_id, columns.account_name, strict=True))
    counted: dict[str, dict[str, tuple[str, int]]] = {
        "account": {account_id: (account_names[account_id], n) for account_id, n in Counter(columns.account_id).items()}
    }
    stores = {"online": sum(columns.online), "offline": sum(columns.offline)}
    statuses = Counter(columns.status)
    statuses.pop("", None)
    statuses.pop(None, None)
    plain = {
        "region": Counter(columns.region),
        "access": {access_slug(level): n for level, n in levels.items()},
        "store": {store: n for store, n in stores.items() if n},
        "status": statuses,
    }
    if params.kind == "features":
        plain["feature_type"] = Counter(columns.feature_type)
    for dimension, counts in plain.items():
        if counts:
            counted[dimension] = {value: ("" if dimension == "access" else value, n) for value, n in counts.items()}
    group_rows = Counter(columns.group_id)
    if len(group_rows) * 4 <= len(shown):
        # Features of few groups: each group's tags counted once, times its rows.
        group_tags = dict(zip(columns.group_id, columns.tags, strict=True))
        tags = Counter()
        for group_id, n in group_rows.items():
            for pair in group_tags[group_id]:
                tags[pair] += n
    else:
        tags = Counter(chain.from_iterable(columns.tags))
    # The most frequent tag values (ties by text), as many as the page can list.
    for pair, n in sorted(tags.items(), key=lambda item: (-item[1], item[0]))[: FACET_VALUES_SHOWN * 2]:
        counted.setdefault("tag", {})[pair] = (pair, n)
    # A page past the end shows the last page instead.
    last_page_offset = (len(shown) - 1) // PAGE_SIZE * PAGE_SIZE
    offset = min((params.page - 1) * PAGE_SIZE, last_page_offset)
    page_ids = [(c.id, level_of(c)) for c in _page(shown, sort, offset)]
    return {"total": len(candidates), "facets": counted, "page_ids": page_ids, "usage_data": False}


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


# A page of results as plain rows: the columns the page shows (`catalog_rows`,
# `SearchGroupSerializer`, `SearchFeatureSerializer`, the search view's `offers_request`), read
# by one statement. Model instances cost ~0.6 ms a page (`Model.from_db` and field converters for
# three models a row) for attributes these rows carry as well; the stored vectors, JSON documents
# and timestamps the page does not show are not read.


class PageAccount:
    """The owner account of a results row."""

    __slots__ = ("id", "account_id", "name")

    def __init__(self, id: int, account_id: str, name: str) -> None:  # noqa: A002 (the column)
        self.id, self.account_id, self.name = id, account_id, name


class PageGroup:
    """A feature group on a page of results (or the group of a feature on one).

    `access_level` comes from the search statement; the search page adds `access_label` and
    `offers_request`.
    """

    __slots__ = (
        "id", "uuid", "arn", "name", "region", "description", "pantry_description", "status", "feature_count",
        "tags", "online_store_enabled", "offline_store_enabled", "popularity", "aws_modified_at", "deleted_at",
        "account", "access_level", "access_label", "offers_request",
    )  # fmt: skip

    @property
    def pk(self) -> int:
        return self.id

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class PageFeature:
    """A feature on a page of results, with its group (`feature_group`) and the group's account."""

    __slots__ = (
        "id", "uuid", "name", "type", "collection_type", "description", "pantry_description", "feature_group",
        "access_level",
    )  # fmt: skip

    @property
    def pk(self) -> int:
        return self.id


ACCOUNT_COLUMNS = "a.id, a.account_id, a.name"
GROUP_PAGE_SQL = (
    "SELECT g.id, g.uuid, g.arn, g.name, g.region, g.description, g.pantry_description, g.status,"  # noqa: S608 (constants)
    " g.feature_count, g.tags::text, g.online_store_enabled, g.offline_store_enabled, g.popularity,"
    f" g.aws_modified_at, g.deleted_at, {ACCOUNT_COLUMNS}"
    f" FROM {GROUPS_TABLE} g JOIN catalog_awsaccount a ON a.id = g.account_id WHERE g.id = ANY(%s::bigint[])"
)
FEATURE_PAGE_SQL = (
    "SELECT f.id, f.uuid, f.name, f.type, f.collection_type, f.description, f.pantry_description,"  # noqa: S608 (constants)
    f" g.id, g.uuid, g.name, g.region, g.deleted_at, {ACCOUNT_COLUMNS}"
    f" FROM {FEATURES_TABLE} f JOIN {GROUPS_TABLE} g ON g.id = f.feature_group_id"
    " JOIN catalog_awsaccount a ON a.id = g.account_id WHERE f.id = ANY(%s::bigint[])"
)


def _page_group(row: tuple) -> PageGroup:
    group = PageGroup()
    (
        group.id, group.uuid, group.arn, group.name, group.region, group.description, group.pantry_description,
        group.status, group.feature_count, tags, group.online_store_enabled, group.offline_store_enabled,
        group.popularity, group.aws_modified_at, group.deleted_at,
    ) = row[:15]  # fmt: skip
    group.tags = json.loads(tags) if tags else {}
    group.account = PageAccount(*row[15:18])
    return group


def _page_feature(row: tuple) -> PageFeature:
    feature = PageFeature()
    (
        feature.id, feature.uuid, feature.name, feature.type, feature.collection_type, feature.description,
        feature.pantry_description,
    ) = row[:7]  # fmt: skip
    group = feature.feature_group = PageGroup()
    group.id, group.uuid, group.name, group.region, group.deleted_at = row[7:12]
    group.account = PageAccount(*row[12:15])
    return feature


def _page_rows(*, kind: str, ids: list[tuple[int, int]]) -> list:
    """Load the page's rows in rank order; access levels come from the search statement."""
    if not ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(GROUP_PAGE_SQL if kind == "groups" else FEATURE_PAGE_SQL, [[pk for pk, _ in ids]])
        fetched = cursor.fetchall()
    make = _page_group if kind == "groups" else _page_feature
    by_id = {row[0]: row for row in fetched}
    ordered = []
    for pk, access_level in ids:
        if (row := by_id.get(pk)) is not None:
            item = make(row)
            item.access_level = access_level
            ordered.append(item)
    return ordered
