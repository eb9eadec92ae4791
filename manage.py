#!/usr/bin/env python
"""Django's command-line utility for Pantry."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    # manage.py is the developer's tool: on its own it runs in development
    # (embedded services, throwaway key). Deployments set PANTRY_ENV=production
    # explicitly; the WSGI app and Celery default to production regardless.
    os.environ.setdefault("PANTRY_ENV", "development")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
