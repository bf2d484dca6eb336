from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token

from privacy.services import audit_record


class Command(BaseCommand):
    help = "Print the API token of USERNAME (created on first use) and nothing else."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--rotate", action="store_true", help="replace the existing token with a new one"
        )

    def handle(self, *args, username, rotate, **options):
        try:
            user = get_user_model().objects.get(username=username, is_active=True)
        except get_user_model().DoesNotExist as error:
            raise CommandError(f"No active user named {username!r}.") from error
        if rotate:
            Token.objects.filter(user=user).delete()
        token, created = Token.objects.get_or_create(user=user)
        if created:
            audit_record(action="api_token.create", target=user, metadata={"rotated": rotate})
        self.stdout.write(token.key)
