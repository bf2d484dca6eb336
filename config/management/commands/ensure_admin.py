import base64
import os
import secrets
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from config.credentials import credentials_write
from privacy.core.roles import ADMINISTRATOR
from privacy.core.services.accounts import team_membership_add
from privacy.core.services.audit import audit_record
from privacy.core.services.staff import team_create
from privacy.models import Team

DEFAULT_FIRST_TEAM = "Default team"


class Command(BaseCommand):
    help = (
        "Make sure an administrator exists. Uses DJANGO_SUPERUSER_USERNAME, "
        "DJANGO_SUPERUSER_PASSWORD and DJANGO_SUPERUSER_EMAIL when set; otherwise creates "
        "'admin' with a random password. Credentials and the TOTP secret are printed once. "
        "When no team exists yet, creates one (MARKETBASE_FIRST_TEAM, 'Default team') with the "
        "administrator in it, so customers can be imported straight away."
    )

    def _first_team(self, user) -> None:
        """A fresh install has no team, and nothing can be imported without one: make the first
        and put the administrator in it (both audited, as the command line)."""
        if Team.objects.exists():
            return
        name = os.environ.get("MARKETBASE_FIRST_TEAM", "").strip() or DEFAULT_FIRST_TEAM
        with transaction.atomic():
            team = team_create(name=name)
            team_membership_add(actor=None, user=user, team=team)
        self.stdout.write(f"Team {name!r} created with {user.get_username()!r} in it.")

    def add_arguments(self, parser):
        parser.add_argument(
            "--credentials-file",
            type=Path,
            help="also write the new administrator's credentials to this file (mode 0600)",
        )

    def handle(self, *args, credentials_file=None, **options):
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "admin")
        user_model = get_user_model()
        existing = user_model.objects.filter(username=username).first()
        if existing is not None:
            self.stdout.write(
                f"Administrator {username!r} already exists (credentials were printed when it "
                "was created; `make totp` prints its current sign-in code)."
            )
            self._first_team(existing)
            return
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD") or secrets.token_urlsafe(12)
        email = os.environ.get("DJANGO_SUPERUSER_EMAIL", "")
        with transaction.atomic():
            user = user_model.objects.create_superuser(
                username=username, email=email, password=password
            )
            user.groups.add(Group.objects.get(name=ADMINISTRATOR))
            device = TOTPDevice.objects.create(user=user, name="Demo authenticator")
            audit_record(action="user.create_administrator", target=user)
        self._first_team(user)
        secret = base64.b32encode(device.bin_key).decode()
        if credentials_file:
            credentials_write(
                credentials_file,
                "administrator",
                [f"  {username:<18} {password}", f"  {'TOTP secret':<18} {secret}"],
            )
        self.stdout.write(
            self.style.SUCCESS(
                "\n".join(
                    [
                        "",
                        f"Administrator created; its credentials are kept in {credentials_file}."
                        if credentials_file
                        else "Administrator created. Keep these; they are shown only now.",
                        f"  username:     {username}",
                        f"  password:     {password}",
                        f"  TOTP secret:  {secret}",
                        "  Add the secret to an authenticator app, or run `make totp` for the",
                        "  current six-digit code on this development machine.",
                        "",
                    ]
                )
            )
        )
