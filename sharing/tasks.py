"""Celery tasks of the sharing workflow: take ids, call one service."""

from celery import shared_task

from sharing import services


@shared_task(name="sharing.tasks.access_request_provision", acks_late=True)
def access_request_provision(request_uuid: str) -> None:
    services.access_request_provision(request_uuid=request_uuid)


@shared_task(name="sharing.tasks.sharing_reconcile")
def sharing_reconcile() -> None:
    """Beat: every account's RAM state into shares, grants and invitations."""
    services.sharing_reconcile_all()


@shared_task(name="sharing.tasks.sharing_reconcile_account")
def sharing_reconcile_account(account_uuid: str) -> None:
    from catalog.models import AwsAccount

    account = AwsAccount.objects.filter(uuid=account_uuid).first()
    if account is not None:
        services.sharing_reconcile_account(account=account)


@shared_task(name="sharing.tasks.sharing_end_dates")
def sharing_end_dates() -> None:
    """Beat: warnings three days ahead, grants past their end date, invitations past 12 hours,
    and approved requests whose provisioning no worker finished (a killed worker)."""
    services.access_requests_resume_stalled()
    services.grants_warn_ending()
    services.grants_expire_due()
    services.invitations_expire_due()
