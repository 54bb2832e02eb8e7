from datetime import timedelta

from django.core.management.base import BaseCommand

from shop.services import reconcile_payments


class Command(BaseCommand):
    help = "Settle payments left PROCESSING (and refunds left PENDING) by asking the gateway. Safe to run concurrently."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=int,
            default=None,
            metavar="SECONDS",
            help="Only payments started at least this long ago (default: PAYMENT_RECONCILE_AFTER_SECONDS).",
        )

    def handle(self, *args, older_than=None, **options):
        report = reconcile_payments(older_than=None if older_than is None else timedelta(seconds=older_than))
        self.stdout.write(
            f"Reconciled: {len(report.payments_confirmed)} payment(s) confirmed, "
            f"{len(report.payments_failed)} failed, {len(report.refunds_settled)} refund(s) settled."
        )
