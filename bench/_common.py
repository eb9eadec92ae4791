"""Shared plumbing for the benchmark scripts: a dedicated database and the report file."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "benchmarks.md"


def embedded_services_if_needed() -> None:
    """Start the embedded PostgreSQL / Redis for what the environment has no URL for.

    Settings only compute the embedded URLs; a bench script on a fresh machine
    starts the servers itself (released, and stopped if nobody else uses them, at exit).
    """
    sys.path.insert(0, str(ROOT))
    from portal import embedded

    needed = embedded.services_needed()
    if any(needed.values()):
        embedded.services_start(**needed, configure_django=False)


def use_dedicated_database(name: str) -> str:
    """Point Django at a fresh database `name` on the configured server, then set Django up."""
    sys.path.insert(0, str(ROOT))
    embedded_services_if_needed()
    os.environ.setdefault("PANTRY_ENV", "development")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import psycopg
    from django.conf import settings

    with psycopg.connect(**_admin_conninfo(settings), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    settings.DATABASES["default"]["NAME"] = name
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return name


def _admin_conninfo(settings) -> dict:
    """Connection parameters for the server's `postgres` database (to create and drop others)."""
    base = settings.DATABASES["default"]
    conninfo = {
        "dbname": "postgres",
        "user": base.get("USER") or "postgres",
        "password": base.get("PASSWORD") or None,
        "host": base.get("HOST") or None,
        "port": base.get("PORT") or None,
    }
    return {k: v for k, v in conninfo.items() if v}


def drop_database(name: str) -> None:
    import psycopg
    from django.conf import settings
    from django.db import connections

    connections.close_all()
    with psycopg.connect(**_admin_conninfo(settings), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# Under a section's generated figures, what follows this line was written by people (the reading
# of the figures, what changed, what is next) and survives the script writing the section again.
ANALYSIS_MARKER = "<!-- analysis: kept when the benchmark rewrites this section; update it by hand -->"


def write_report_section(title: str, body: str) -> None:
    """Replace (or add) the `## title` section of docs/benchmarks.md, keeping its analysis block."""
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    text = (
        REPORT.read_text()
        if REPORT.exists()
        else "# Benchmarks\n\nFigures printed by the scripts under `bench/`, on the 2-core development machine.\n"
    )
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    found = pattern.search(text)
    analysis = ""
    if found and ANALYSIS_MARKER in found.group(0):
        analysis = found.group(0).split(ANALYSIS_MARKER, 1)[1].strip()
    section = f"## {title}\n\n{body.strip()}\n"
    if analysis:
        section += f"\n{ANALYSIS_MARKER}\n\n{analysis}\n"
    if found:
        text = pattern.sub(lambda _: section + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    REPORT.write_text(text)


# Linux /proc: the CPU the benchmarks report is read there, not timed (it stays meaningful on a
# busy machine, where wall times do not).
def stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (None once the process is gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def cpu_seconds(pid: int, *, own: bool = True, children: bool = False) -> float:
    """User + system CPU of a process (`own`) and of the children it has reaped (`children`)."""
    fields = stat_fields(pid)
    if fields is None:
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) if own else 0  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime: workers or backends that exited
    return ticks / os.sysconf("SC_CLK_TCK")


def parent_pid(pid: int) -> int | None:
    """The parent of a process (None once it is gone)."""
    fields = stat_fields(pid)
    return int(fields[1]) if fields else None


def freeze_like_a_worker() -> None:
    """What Pantry's web and Celery workers do once started (portal/startup.py): timings in this
    process then meet the full collections a worker meets, not ~45 ms ones."""
    sys.path.insert(0, str(ROOT))
    from portal.startup import startup_objects_freeze

    startup_objects_freeze()
