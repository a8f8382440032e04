"""Beat's domain checks: pending domains with backoff, verified ones now and then."""

from celery import shared_task

from domains.services import domains_check_due


@shared_task
def check_domains() -> int:
    return domains_check_due()
