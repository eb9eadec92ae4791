"""CSV exports: formula-safe cells, streamed responses, and the audit log's columns.

The operators' audit log, governance's sharing trail and the usage dashboards all
export CSV; they share this module so every export is safe to open in a
spreadsheet and none holds a whole table in memory.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence

from django.db.models import QuerySet
from django.http import StreamingHttpResponse


def csv_cell(value) -> str:
    """A cell a spreadsheet shows as text: values starting with = + - @ (or a tab/CR) would run as formulas."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in {"=", "+", "-", "@", "\t", "\r"} else text


class _Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


def csv_response(header: Sequence[str], rows: Iterable[Sequence], *, filename: str) -> StreamingHttpResponse:
    """A streamed CSV attachment; every cell goes through csv_cell."""
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow([csv_cell(h) for h in header])
        for row in rows:
            yield writer.writerow([csv_cell(v) for v in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def audit_events_csv(events: QuerySet, *, filename: str, source_ip: bool) -> StreamingHttpResponse:
    """Audit events (portal.models.AuditEvent) as CSV, read 500 rows at a time (no cap, bounded
    memory). `source_ip` adds the column operators see and governance's trail leaves out."""
    header = ["at", "actor", "via", *(["source_ip"] if source_ip else []), "action", "object_type", "object_id"]
    header += ["object", "owner_account_id", "consumer_account_id", "before", "after", "note"]

    def rows() -> Iterator[list]:
        for e in events.iterator(chunk_size=500):
            yield [
                e.at.isoformat(),
                e.actor_label,
                e.via,
                *([e.source_ip] if source_ip else []),
                e.action,
                e.object_type,
                e.object_id,
                e.object_label,
                e.owner_account_id,
                e.consumer_account_id,
                json.dumps(e.before, sort_keys=True) if e.before else "",
                json.dumps(e.after, sort_keys=True) if e.after else "",
                e.note,
            ]

    return csv_response(header, rows(), filename=filename)
