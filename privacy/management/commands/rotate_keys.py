from django.core.management.base import BaseCommand

from privacy.core.services.encryption import encryption_keys_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt all contact details under the first key of FIELD_ENCRYPTION_KEYS and rebuild "
        "the blind indexes under BLIND_INDEX_KEY, in batches. Run it after putting a new key "
        "first in FIELD_ENCRYPTION_KEYS (keep the old keys listed until it has finished), or "
        "after changing BLIND_INDEX_KEY."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, batch_size, **options):
        counts = encryption_keys_rotate(batch_size=batch_size)
        for label, count in counts.items():
            self.stdout.write(f"{label}: {count}")
