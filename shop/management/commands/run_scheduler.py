import logging
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from shop.api.idempotency import purge_expired
from shop.services import reconcile_payments, release_expired_orders

logger = logging.getLogger("shop.scheduler")


def _reconcile() -> str:
    report = reconcile_payments()
    return (
        f"{len(report.payments_confirmed)} payment(s) confirmed, {len(report.payments_failed)} failed, "
        f"{len(report.refunds_settled)} refund(s) settled"
    )


def _expire() -> str:
    return f"released {len(release_expired_orders())} expired order(s)"


def _purge() -> str:
    return f"purged {purge_expired()} idempotency key(s)"


JOBS = {"reconcile_payments": _reconcile, "release_expired_orders": _expire, "purge_idempotency_keys": _purge}


class Command(BaseCommand):
    help = (
        "Run the periodic jobs (reconcile payments, release expired orders, purge idempotency keys) every "
        "SCHEDULER_INTERVAL_SECONDS. Every job is safe to run from several machines at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run each job once, then exit (for cron).")
        parser.add_argument("--interval", type=float, default=None, help="Seconds between rounds.")

    def handle(self, *args, once=False, interval=None, **options):
        interval = interval or settings.SCHEDULER_INTERVAL_SECONDS
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        while True:
            self._run_round()
            if once or stopping:
                return
            deadline = time.monotonic() + interval
            while time.monotonic() < deadline and not stopping:
                time.sleep(min(1.0, interval))
            if stopping:
                return

    def _run_round(self):
        for name, job in JOBS.items():
            started = time.monotonic()
            try:
                outcome = job()
            except Exception:  # one failing job must not stop the others or the scheduler
                logger.exception("Scheduled job %s failed", name)
                continue
            self.stdout.write(f"{name}: {outcome} ({time.monotonic() - started:.2f} s)")
