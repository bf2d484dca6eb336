"""``privacy_scan`` walks every table and column and finds a person's values in any form."""

import json

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.db import connection
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from customers.models import Customer
from privacy.core.crypto import blind_index
from privacy.core.scan import scan_needles, subject_scan
from privacy.models import Suppression, Team
from tests.customers.factories import CustomerFactory


@pytest.fixture(autouse=True)
def _own_media_directory(settings, tmp_path):
    """The scan reads MEDIA_ROOT too: each test scans its own, not files other tests left."""
    settings.MEDIA_ROOT = tmp_path / "media"


EMAIL = "mia_lindqvist@example.se"
PHONE = "+46701234567"


def admin_log(user, message: str) -> LogEntry:
    return LogEntry.objects.create(
        user=user,
        content_type=ContentType.objects.get_for_model(Team),
        object_id="1",
        object_repr="Team",
        action_flag=CHANGE,
        change_message=message,
    )


def places(result) -> set[tuple[str, str]]:
    return {(hit.location, hit.needle) for hit in result.found}


def test_every_table_is_walked_third_party_ones_included(db):
    result = subject_scan(emails=[EMAIL])
    assert {
        "django_admin_log",
        "django_session",
        "auth_user",
        "privacy_apitoken",
        "guardian_userobjectpermission",
        "django_celery_beat_periodictask",
        "privacy_auditentry",
        "privacy_consentevent",
        "customers_customer",
        "customers_event",
    } <= set(result.tables)
    assert (result.found, result.kept, result.unreadable_tables) == ([], [], [])


def test_values_are_found_in_text_and_json_of_any_table(marketer_a):
    # Given the values left in Django's admin log and in a Celery beat schedule's arguments
    admin_log(marketer_a, f"Changed email to {EMAIL.upper()}.")
    PeriodicTask.objects.create(
        name="reminder",
        task="campaigns.remind_task",
        interval=IntervalSchedule.objects.create(every=1, period=IntervalSchedule.DAYS),
        kwargs=json.dumps({"to": PHONE, "name": "王秀华"}),  # ASCII-escaped: "\u738b..."
    )

    # When scanning; Then each place is named with the form that matched
    result = subject_scan(emails=[EMAIL], phones=["+46 70 123 45 67"], names=["王秀华"])
    assert places(result) == {
        ("public.django_admin_log.change_message", "email (as given)"),
        ("public.django_celery_beat_periodictask.kwargs", "phone (normalised)"),
        ("public.django_celery_beat_periodictask.kwargs", "name (JSON-escaped)"),
    }


def test_plaintext_in_bytea_is_found_and_ciphertext_is_not(team_a):
    # Given a customer whose contact details are encrypted, as the model stores them
    customer = CustomerFactory(
        owner_team=team_a, email=EMAIL, given_name="Ann", family_name="Berg", identities=False
    )
    assert subject_scan(emails=[EMAIL]).is_clean

    # When plaintext lands in an encrypted (bytea) column
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE customers_customer SET notes = %s, postal_address = %s WHERE id = %s",
            [f"Call {EMAIL.upper()}".encode(), "王秀华".encode(), customer.pk],
        )

    # Then the scan finds it there, ASCII case-insensitively and UTF-8 byte for byte
    result = subject_scan(emails=[EMAIL], names=["王秀华"])
    assert places(result) == {
        ("public.customers_customer.notes", "email (as given)"),
        ("public.customers_customer.postal_address", "name (as given)"),
    }


def test_blind_indexes_are_found_and_the_suppression_list_is_kept(team_a):
    customer = CustomerFactory(owner_team=team_a, email=EMAIL, phone=PHONE)
    result = subject_scan(emails=[EMAIL], phones=[PHONE])
    assert places(result) == {
        ("public.customers_identity.lookup_key", "email (blind index)"),
        ("public.customers_identity.lookup_key", "phone (blind index)"),
    }

    # Given only the suppression entries of the erased person are left
    Customer.objects.filter(pk=customer.pk).delete()
    Suppression.objects.create(
        owner_team=team_a,
        kind="email",
        lookup_key=blind_index(EMAIL, purpose="email"),
        reason="request",
    )
    result = subject_scan(emails=[EMAIL], phones=[PHONE])
    assert result.is_clean
    assert [(hit.location, hit.needle, hit.rows) for hit in result.kept] == [
        ("public.privacy_suppression.lookup_key", "email (blind index)", 1)
    ]


def test_like_wildcards_in_a_value_match_only_themselves(marketer_a):
    admin_log(marketer_a, "miaxlindqvist@example.se and 100% sure")
    assert subject_scan(emails=[EMAIL]).is_clean
    assert not subject_scan(names=["100% sure"]).is_clean


@pytest.mark.parametrize(
    ("stored", "is_found"),
    [
        pytest.param("Mia Lindqvist", True, id="as-given"),
        pytest.param("LINDQVIST, mia", True, id="tokens-reordered"),
        pytest.param("Mia Svensson", False, id="only-the-given-name"),
    ],
)
def test_a_name_is_found_where_one_value_holds_all_its_tokens(marketer_a, stored, is_found):
    admin_log(marketer_a, stored)
    assert (not subject_scan(names=["Mia Lindqvist"]).is_clean) is is_found


def test_name_blind_index_needs_every_token_in_one_value(team_a):
    CustomerFactory(owner_team=team_a, given_name="Mia", family_name="Svensson")
    assert subject_scan(names=["Mia Lindqvist"]).is_clean
    CustomerFactory(owner_team=team_a, given_name="Mia", family_name="Lindqvist")
    assert places(subject_scan(names=["Mia Lindqvist"])) == {
        ("public.customers_customer.name_index", "name (blind index)")
    }


def test_needles_never_repeat_a_pattern():
    needles = scan_needles(emails=[EMAIL.upper()], phones=[PHONE], names=["Mia"])
    assert [needle.label for needle in needles] == [
        "email (as given)",
        "email (blind index)",
        "phone (as given)",
        "phone (blind index)",
        "name (as given)",
        "name (blind index)",
    ]


def test_command_exit_status_and_output(team_a):
    CustomerFactory(owner_team=team_a, email=EMAIL, identities=True)
    with pytest.raises(CommandError) as found:
        call_command("privacy_scan", "--email", EMAIL)
    assert (found.value.returncode, str(found.value)) == (1, "1 place(s) still hold the values.")

    with pytest.raises(CommandError) as nothing_named:
        call_command("privacy_scan")
    assert nothing_named.value.returncode == 2


def test_command_prints_places_never_values(team_a, capsys):
    CustomerFactory(owner_team=team_a, email=EMAIL, phone=PHONE)
    with pytest.raises(CommandError):
        call_command("privacy_scan", "--email", EMAIL, "--phone", PHONE)
    output = capsys.readouterr().out
    assert "FOUND  public.customers_identity.lookup_key: email (blind index) in 1 row(s)" in output
    assert EMAIL not in output
    assert PHONE not in output
    assert blind_index(EMAIL, purpose="email") not in output

    call_command("privacy_scan", "--email", "nobody@example.com")
    assert capsys.readouterr().out.rstrip().endswith("Nothing found.")
