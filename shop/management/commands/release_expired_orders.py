from datetime import timedelta

from django.core.management.base import BaseCommand

from shop.services import release_expired_orders


class Command(BaseCommand):
    help = "Cancel unpaid orders older than the given age and return their stock. Safe to run concurrently."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=int,
            default=None,
            metavar="MINUTES",
            help="Age of the unpaid orders to cancel (default: UNPAID_ORDER_TTL_MINUTES).",
        )

    def handle(self, *args, older_than=None, **options):
        numbers = release_expired_orders(older_than=None if older_than is None else timedelta(minutes=older_than))
        self.stdout.write(f"Released {len(numbers)} expired order(s)" + (f": {', '.join(numbers)}" if numbers else "."))
