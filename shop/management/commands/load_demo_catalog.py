from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction

from shop.models import Product

# (sku, name, price, stock, description). LAP-001 and MOU-001 are the seed's curl examples.
DEMO_CATALOG = [
    ("LAP-001", "Laptop", "1000.00", 50, "A 14-inch laptop with 16 GB of memory and a 1 TB SSD."),
    ("MOU-001", "Mouse", "25.00", 200, "A wireless mouse with a silent click."),
    ("KEY-001", "Mechanical Keyboard", "89.00", 80, "Tenkeyless, hot-swappable switches."),
    ("MON-001", "27-inch Monitor", "299.00", 30, "QHD IPS panel, 144 Hz."),
    ("HDP-001", "Headphones", "149.00", 60, "Over-ear, active noise cancelling."),
    ("CAM-001", "Webcam", "59.00", 90, "1080p with a privacy shutter."),
    ("USB-001", "USB-C Hub", "39.00", 150, "Seven ports, 100 W pass-through charging."),
    ("SSD-001", "External SSD 1 TB", "119.00", 70, "USB 3.2, pocket-sized."),
    ("CHR-001", "Office Chair", "249.00", 20, "Ergonomic, adjustable lumbar support."),
    ("DSK-001", "Standing Desk", "499.00", 10, "Electric height adjustment, memory presets."),
    ("LMP-001", "Desk Lamp", "35.00", 120, "LED, dimmable, warm to cool light."),
    ("BAG-001", "Laptop Backpack", "69.00", 75, "Water-resistant, padded 15-inch sleeve."),
    ("CBL-001", "HDMI Cable 2 m", "12.00", 300, "HDMI 2.1, 48 Gbps."),
    ("PAD-001", "Mouse Pad XL", "19.00", 0, "Extended desk mat. Out of stock: shows how the shop handles it."),
]


class Command(BaseCommand):
    help = "Load the demo catalog. Idempotent: existing products (by SKU) are left as they are."

    def handle(self, *args, **options):
        with transaction.atomic():
            created = 0
            for sku, name, price, stock, description in DEMO_CATALOG:
                _, was_created = Product.objects.get_or_create(
                    sku=sku,
                    defaults={"name": name, "price": Decimal(price), "stock": stock, "description": description},
                )
                created += was_created
        self.stdout.write(f"Demo catalog: {created} product(s) added, {len(DEMO_CATALOG) - created} already present.")
