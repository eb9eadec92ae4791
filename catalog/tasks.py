"""Celery tasks of the catalog: take ids, call one service."""

from celery import shared_task

from catalog.services import sync as services


@shared_task(name="catalog.tasks.sync_run_execute", acks_late=True)
def sync_run_execute(run_uuid: str) -> None:
    services.sync_run_execute(run_uuid=run_uuid)


@shared_task(name="catalog.tasks.sync_due_accounts")
def sync_due_accounts() -> None:
    services.sync_due_accounts_request()


@shared_task(name="catalog.tasks.sync_runs_sweep")
def sync_runs_sweep() -> None:
    services.sync_runs_sweep()
