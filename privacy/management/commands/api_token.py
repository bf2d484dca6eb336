from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from privacy.core.services.accounts import AccountError, api_token_create, api_token_revoke
from privacy.models import ApiToken


class Command(BaseCommand):
    help = (
        "Make a new API token for USERNAME (an integration account, say) and print its key and "
        "nothing else. The key is shown this once: only its digest is stored."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--name", default="Command line", help="what the token is for (shown in lists)"
        )
        parser.add_argument(
            "--expires-in-days",
            type=int,
            default=None,
            help="the token stops working after this many days (default: never)",
        )
        parser.add_argument(
            "--rotate", action="store_true", help="revoke the account's other tokens first"
        )

    def handle(self, *args, username, name, expires_in_days, rotate, **options):
        try:
            user = get_user_model().objects.get(username=username, is_active=True)
        except get_user_model().DoesNotExist as error:
            raise CommandError(f"No active user named {username!r}.") from error
        if expires_in_days is not None and expires_in_days < 1:
            raise CommandError("--expires-in-days must be 1 or more.")
        expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
        if rotate:
            for token in ApiToken.objects.filter(user=user, revoked_at__isnull=True):
                api_token_revoke(actor=None, token=token)
        try:
            _token, key = api_token_create(actor=None, user=user, name=name, expires_at=expires_at)
        except AccountError as error:
            raise CommandError(f"{error.field}: {error.message}") from error
        self.stdout.write(key)
