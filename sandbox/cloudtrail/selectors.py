"""Which events a trail logs: basic event selectors and advanced event selectors.

Semantics from the CloudTrail user guide (*Logging data events*, *advanced event selectors*):

* A trail with no selectors logs all management events and no data events.
* Advanced selectors: an event is logged when ANY selector matches; a selector matches when ALL
  its field selectors match. In one field selector, ``Equals`` / ``StartsWith`` / ``EndsWith``
  values are alternatives (any may match) and ``NotEquals`` / ``NotStartsWith`` /
  ``NotEndsWith`` values must all hold. A data-event selector names ``resources.type``; its
  ``resources.ARN`` conditions hold when any resource of that type in the event matches.
* Basic selectors: ``ReadWriteType`` (All / ReadOnly / WriteOnly), ``IncludeManagementEvents``,
  ``DataResources`` of a type with ARN prefixes (or the bare ``arn:aws:<service>`` prefix for
  all), ``ExcludeManagementEventSources``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

Predicate = Callable[[dict[str, Any]], bool]

ADVANCED_FIELDS = {
    "eventCategory",
    "eventSource",
    "eventName",
    "eventType",
    "readOnly",
    "resources.type",
    "resources.ARN",
    "userIdentity.arn",
    "errorCode",
    "sessionCredentialFromConsole",
    "vpcEndpointId",
}
_OPERATORS = ("Equals", "StartsWith", "EndsWith", "NotEquals", "NotStartsWith", "NotEndsWith")


def _values(record: dict[str, Any], field: str, resource_type: str | None) -> list[str]:
    if field == "resources.ARN":
        return [
            r.get("ARN", "")
            for r in record.get("resources") or []
            if not resource_type or r.get("type") == resource_type
        ]
    if field == "resources.type":
        return [r.get("type", "") for r in record.get("resources") or []]
    if field == "userIdentity.arn":
        return [str((record.get("userIdentity") or {}).get("arn", ""))]
    value = record.get(field)
    if isinstance(value, bool):
        return ["true" if value else "false"]
    return [] if value is None else [str(value)]


def _field_matches(values: list[str], spec: dict[str, Any]) -> bool:
    positives = [(op, v) for op in ("Equals", "StartsWith", "EndsWith") for v in spec.get(op) or []]
    negatives = [(op, v) for op in ("NotEquals", "NotStartsWith", "NotEndsWith") for v in spec.get(op) or []]

    def holds(value: str) -> bool:
        if positives and not any(_test(op, value, v) for op, v in positives):
            return False
        return all(not _test(op[3:], value, v) for op, v in negatives)

    if not values:
        return not positives
    return any(holds(v) for v in values)


def _test(op: str, value: str, expected: str) -> bool:
    if op == "Equals":
        return value == expected
    if op == "StartsWith":
        return value.startswith(expected)
    return value.endswith(expected)


def validate_advanced(selectors: Iterable[dict[str, Any]]) -> None:
    """Raise ``ValueError`` (CloudTrail's ``InvalidEventSelectorsException``) for bad selectors."""
    for selector in selectors:
        fields = selector.get("FieldSelectors") or []
        if not fields:
            raise ValueError("Each advanced event selector must have at least one field selector.")
        names = [f.get("Field") for f in fields]
        for f in fields:
            if f.get("Field") not in ADVANCED_FIELDS:
                raise ValueError(f"Invalid field {f.get('Field')!r} in advanced event selector.")
            if not any(f.get(op) for op in _OPERATORS):
                raise ValueError(f"Field selector {f.get('Field')} needs at least one operator.")
        if "eventCategory" not in names:
            raise ValueError("Each advanced event selector must specify eventCategory.")
        category = next(f for f in fields if f["Field"] == "eventCategory").get("Equals") or []
        if "Data" in category and "resources.type" not in names:
            raise ValueError("A data event selector must specify resources.type.")


def compile_advanced(selectors: list[dict[str, Any]]) -> Predicate:
    compiled: list[list[tuple[str, dict, str | None]]] = []
    for selector in selectors:
        fields = selector.get("FieldSelectors") or []
        types = next((f.get("Equals") or [] for f in fields if f["Field"] == "resources.type"), [])
        resource_type = types[0] if len(types) == 1 else None
        compiled.append([(f["Field"], f, resource_type) for f in fields])

    def evaluate(record: dict[str, Any]) -> bool:
        return any(
            all(_field_matches(_values(record, name, rtype), spec) for name, spec, rtype in selector)
            for selector in compiled
        )

    # Many records share everything a selector looks at: remember the answer per such key.
    used = sorted({name for selector in compiled for name, _, _ in selector})
    memo: dict[tuple, bool] = {}

    def predicate(record: dict[str, Any]) -> bool:
        key = tuple(tuple(_values(record, name, None)) for name in used)
        answer = memo.get(key)
        if answer is None:
            answer = memo[key] = evaluate(record)
            if len(memo) > 100_000:
                memo.clear()
        return answer

    return predicate


def compile_basic(selectors: list[dict[str, Any]]) -> Predicate:
    def one(selector: dict[str, Any]) -> Predicate:
        rw = selector.get("ReadWriteType", "All")
        include_management = selector.get("IncludeManagementEvents", True)
        excluded = set(selector.get("ExcludeManagementEventSources") or [])
        data = [(d.get("Type"), list(d.get("Values") or [])) for d in selector.get("DataResources") or []]

        def rw_ok(record: dict[str, Any]) -> bool:
            read_only = bool(record.get("readOnly"))
            return rw == "All" or (rw == "ReadOnly") == read_only

        def matches(record: dict[str, Any]) -> bool:
            if not rw_ok(record):
                return False
            if record.get("eventCategory", "Management") == "Management":
                return include_management and record.get("eventSource") not in excluded
            for rtype, values in data:
                arns = [r.get("ARN", "") for r in record.get("resources") or [] if r.get("type") == rtype]
                if arns and any(a.startswith(v) for a in arns for v in values):
                    return True
            return False

        return matches

    predicates = [one(s) for s in selectors]
    return lambda record: any(p(record) for p in predicates)


def compile_trail(event_selectors: list[dict[str, Any]], advanced: list[dict[str, Any]]) -> Predicate:
    if advanced:
        return compile_advanced(advanced)
    if event_selectors:
        return compile_basic(event_selectors)
    return lambda record: record.get("eventCategory", "Management") == "Management"
