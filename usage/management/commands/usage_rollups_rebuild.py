"""Recompute the dashboard's derived usage rollups from the base rollups (docs/usage.md#speed).

python manage.py usage_rollups_rebuild                    # every day
python manage.py usage_rollups_rebuild --since 2026-11-01 # from that day on
"""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError

from usage.rollups import derived_rollups_rebuild


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--since {value!r}: give a day as YYYY-MM-DD.") from None


class Command(BaseCommand):
    help = (
        "Recompute the principals', pairs' and last-use rollups from UsageDaily/UsageDailyTotal "
        "(after a migration ran while ingestion workers were writing). Safe while workers run: "
        "their batches wait for it."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--since", type=_day, help="first day to recompute (UTC, YYYY-MM-DD); default: all")

    def handle(self, *args, since: dt.date | str | None = None, **options) -> None:
        if isinstance(since, str):  # call_command(since="…") skips the parser
            since = _day(since)
        try:
            written = derived_rollups_rebuild(since=since)
        except OperationalError as exc:
            raise CommandError(f"The rollups stayed as they were: {exc}".strip()) from exc
        for table, rows in written.items():
            self.stdout.write(f"{table}: {rows:,} rows")
