from pathlib import Path

from django.core.management.base import BaseCommand

from config.credentials import credentials_write
from config.demo import demo_is_loaded, demo_seed


class Command(BaseCommand):
    help = "Load deterministic demo data: teams, staff in every role and customer records."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=500, help="customers to generate")
        parser.add_argument("--seed", type=int, default=1, help="random seed")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when demo data is already loaded"
        )
        parser.add_argument(
            "--credentials-file",
            type=Path,
            help="also write the demo staff's passwords to this file (mode 0600)",
        )

    def handle(self, *args, customers, seed, if_empty, credentials_file=None, **options):
        if if_empty and demo_is_loaded():
            self.stdout.write("Demo data already loaded; leaving the database as it is.")
            return
        result = demo_seed(seed=seed, customers=customers)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data loaded: {result.teams} teams, {result.customers} customers, "
                f"{result.events} events, {result.purchases} purchases; metrics computed, "
                f"{result.duplicate_suggestions} possible duplicates to review."
            )
        )
        self.stdout.write("Demo staff (they set up their authenticator at first sign-in):")
        lines = [f"  {username:<18} {password}" for username, password in result.staff.items()]
        self.stdout.write("\n".join(lines))
        if credentials_file:
            credentials_write(credentials_file, "demo staff", lines)
