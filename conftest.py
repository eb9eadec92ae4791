"""Session-wide setup that must happen before any test touches a database or broker.

On a machine with no DATABASE_URL / CELERY_BROKER_URL, `make test` uses the
embedded PostgreSQL / Redis (portal/embedded.py): the controller process starts
what is missing and takes a lease on it; the URLs go into the environment, so
xdist workers, Celery workers and other subprocesses use the same servers. At
the end the lease is released, which stops a server this run started unless
another process (a `make demo` next door) still uses it. Importing settings
starts nothing: pytest-django imports them before this hook runs.
"""

from __future__ import annotations

pytest_plugins = ["tests.aws_fixtures", "tests.browser", "tests.oidc_provider"]

_embedded = None


def pytest_configure(config) -> None:
    global _embedded
    if hasattr(config, "workerinput"):
        return  # an xdist worker: the controller started the services and set the URLs
    from portal import embedded

    needed = embedded.services_needed()
    if any(needed.values()):
        _embedded = embedded.services_start(**needed)


def pytest_unconfigure(config) -> None:
    if _embedded is not None:
        _embedded.release()
