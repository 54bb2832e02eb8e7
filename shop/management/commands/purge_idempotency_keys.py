from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from shop.api.idempotency import purge_expired


class Command(BaseCommand):
    help = "Delete the API's stored Idempotency-Key responses older than the given age. Safe to run concurrently."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=int,
            default=None,
            metavar="HOURS",
            help="Age of the keys to delete (default: IDEMPOTENCY_KEY_TTL_HOURS, 24).",
        )

    def handle(self, *args, older_than=None, **options):
        if older_than is not None and older_than < 1:
            raise CommandError("--older-than must be at least 1 hour: keys are kept for a day so retries replay.")
        deleted = purge_expired(older_than=None if older_than is None else timedelta(hours=older_than))
        self.stdout.write(f"Purged {deleted} idempotency key(s).")
