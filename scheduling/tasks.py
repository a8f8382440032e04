from celery import shared_task

from scheduling.dispatcher import dispatch_until_idle


@shared_task(ignore_result=True)
def dispatch_scheduled() -> int:
    """Beat, every DISPATCH_INTERVAL_SECONDS: turns due scheduled sends into sends. Several may
    run at once (SKIP LOCKED keeps them apart)."""
    return dispatch_until_idle(max_batches=20)
