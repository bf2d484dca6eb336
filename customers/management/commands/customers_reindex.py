from django.core.management.base import BaseCommand

from customers.services.reindex import customers_reindex


class Command(BaseCommand):
    help = (
        "Rebuild the customers' blind indexes (identity keys, name tokens, search prefixes) from "
        "the plaintext under BLIND_INDEX_KEY, in batches. Run it once after migrating to fill "
        "the search prefixes of customers stored before them; rotate_keys runs it too."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, batch_size, **options):
        count = customers_reindex(batch_size=batch_size)
        self.stdout.write(f"customers.indexes: {count}")
