from django.core.management.base import BaseCommand, CommandError

from privacy.core.scan import subject_scan


class Command(BaseCommand):
    help = (
        "Search every text, JSON, array and bytea column of every table for a person's email, "
        "phone and name, as given, normalised and in blind-index form, and every file of the "
        "media directory (sealed uploads decrypted) for them and for payment card numbers. "
        "Prints where they are "
        "(never the values) and exits with status 1 when anything is found, 0 when clean. "
        "Give phones in E.164 (+4915123456789). Blind indexes that the suppression list keeps "
        "on purpose are listed as kept and do not count as found."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", action="append", default=[], metavar="EMAIL")
        parser.add_argument("--phone", action="append", default=[], metavar="PHONE")
        parser.add_argument("--name", action="append", default=[], metavar="NAME")
        parser.add_argument(
            "--text", action="append", default=[], metavar="TEXT", help="any other value"
        )
        parser.add_argument("--database", default="default")

    def handle(self, *args, email, phone, name, text, database, **options):
        if not (email or phone or name or text):
            raise CommandError(
                "Name at least one --email, --phone, --name or --text.", returncode=2
            )
        result = subject_scan(emails=email, phones=phone, names=name, texts=text, using=database)
        files = sum(1 for table in result.tables if table.startswith("media:"))
        self.stdout.write(
            f"Scanned {result.columns_scanned} columns in {len(result.tables) - files} tables "
            f"and {files} media files."
        )
        for table in result.unreadable_tables:
            self.stderr.write(f"Not readable, not scanned: {table}")
        for hit in result.kept:
            self.stdout.write(
                f"kept   {hit.location}: {hit.needle} in {hit.rows} row(s) ({hit.kept_because})"
            )
        for hit in result.found:
            self.stdout.write(f"FOUND  {hit.location}: {hit.needle} in {hit.rows} row(s)")
        if result.unreadable_tables:
            raise CommandError(
                f"{len(result.unreadable_tables)} table(s) could not be read.", returncode=1
            )
        if result.found:
            raise CommandError(f"{len(result.found)} place(s) still hold the values.", returncode=1)
        self.stdout.write(self.style.SUCCESS("Nothing found."))
