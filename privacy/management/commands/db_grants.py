from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from privacy.core.db_roles import db_grants_apply


class Command(BaseCommand):
    help = (
        "As the owner of the tables, after migrate: give the app's database role read/write "
        "rights except changing or removing audit entries, suppressions and consent events."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--role", required=True, help="the role the web server and workers connect as"
        )

    def handle(self, *args, role, **options):
        try:
            with transaction.atomic():
                statements = db_grants_apply(role=role)
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Granted {len(statements)} rights to {role}.")
