"""`manage.py embedded`: run the embedded PostgreSQL and Redis until Ctrl-C (development only).

For a developer who wants `manage.py migrate`, `shell` or `runserver` in other
terminals without `DATABASE_URL` / `CELERY_BROKER_URL`: importing settings
starts nothing, so something has to hold the servers. This command takes a
lease (portal/embedded.py) and gives it back on exit; the servers stop then
unless `make demo` or a test run still uses them.
"""

from __future__ import annotations

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal import embedded


class Command(BaseCommand):
    help = "Run the embedded PostgreSQL and Redis (development) until Ctrl-C."

    def handle(self, *args, **options) -> None:
        if settings.IS_PRODUCTION:
            raise CommandError("Production never runs embedded services: set DATABASE_URL and CELERY_BROKER_URL.")
        database, broker = settings.PANTRY_EMBEDDED_DATABASE, settings.PANTRY_EMBEDDED_BROKER
        if not (database or broker):
            raise CommandError("DATABASE_URL and CELERY_BROKER_URL are both set: nothing embedded to run.")
        lease = embedded.services_start(settings.PANTRY_DATA_DIR, database=database, broker=broker)
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        try:
            if lease.database_url:
                self.stdout.write(f"export DATABASE_URL='{lease.database_url}'")
            if lease.broker_url:
                self.stdout.write(f"export CELERY_BROKER_URL='{lease.broker_url}'")
            self.stdout.write("Embedded services running; Ctrl-C stops them (unless another process uses them).")
            while not stop.wait(0.5):
                pass
        finally:
            stopped = lease.release()
            self.stdout.write(f"Stopped: {', '.join(stopped)}." if stopped else "Left running for their other users.")
