import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from privacy.models import AuditEntry, Team


@pytest.mark.django_db
def test_seed_demo_is_deterministic_and_if_empty_leaves_data_alone(capsys):
    call_command("seed_demo", "--seed", "7")
    first = capsys.readouterr().out
    assert Team.objects.count() == 2
    assert get_user_model().objects.filter(username="steward").exists()
    call_command("seed_demo", "--seed", "7", "--if-empty")
    assert "already loaded" in capsys.readouterr().out
    assert Team.objects.count() == 2
    assert "demo-" in first


@pytest.mark.django_db
def test_seed_demo_gives_the_same_passwords_for_the_same_seed():
    from config.demo import demo_seed

    first = demo_seed(seed=3).staff
    get_user_model().objects.all().delete()
    for team in Team.objects.select_related("group"):
        group = team.group
        team.delete()
        group.delete()
    assert demo_seed(seed=3).staff == first


@pytest.mark.django_db
def test_ensure_admin_creates_a_superuser_with_an_authenticator_once(capsys, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "boss")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long enough password")
    call_command("ensure_admin")
    output = capsys.readouterr().out
    admin = get_user_model().objects.get(username="boss")
    assert admin.is_superuser and admin.check_password("a long enough password")
    assert admin.totpdevice_set.filter(confirmed=True).count() == 1
    assert "TOTP secret:" in output
    call_command("ensure_admin")
    assert "already exists" in capsys.readouterr().out
    assert AuditEntry.objects.filter(action="user.create_administrator").count() == 1


def test_dashboard_shows_real_counts(verified_client, steward, team_b):
    client = verified_client(steward)
    response = client.get("/")
    tiles = {tile["key"]: tile["value"] for tile in response.context["tiles"]}
    assert tiles["customers"] == 0
    assert tiles["open_requests"] == 0
    assert tiles["audit_24h"] == AuditEntry.objects.count()
    assert tiles["failed_logins_24h"] == 0
    # The system's own counts are for superusers.
    assert not {"teams", "staff", "schedules"} & set(tiles)


def test_superusers_see_the_systems_counts(verified_client, make_user, team_a, team_b):
    admin = make_user(None, team_a, is_superuser=True)
    response = verified_client(admin).get("/")
    tiles = {tile["key"]: tile["value"] for tile in response.context["tiles"]}
    assert tiles["teams"] == Team.objects.count() == 2
    assert tiles["staff"] == get_user_model().objects.filter(is_active=True).count()


def test_dashboard_hides_audit_counts_from_roles_without_audit_access(verified_client, marketer_a):
    response = verified_client(marketer_a).get("/")
    assert {tile["key"] for tile in response.context["tiles"]} == {"customers"}


def test_times_show_in_the_users_time_zone(verified_client, steward):
    client = verified_client(steward)
    response = client.post("/accounts/preferences/", {"time_zone": "Asia/Shanghai"})
    assert response.status_code == 302
    assert "Times shown in Asia/Shanghai" in client.get("/").content.decode()


def test_language_switcher_offers_english_and_simplified_chinese(verified_client, steward):
    page = verified_client(steward).get("/").content.decode()
    assert 'value="en"' in page and 'value="zh-hans"' in page


@pytest.mark.django_db
def test_seed_demo_customers_are_deterministic_and_deduplicated():
    from config.demo import demo_seed
    from customers.models import Customer, DataQualitySnapshot, Event, Purchase

    result = demo_seed(seed=5, customers=60)
    assert result.customers == Customer.objects.active().count()
    # the data-quality page starts with a point of its trend per team
    assert DataQualitySnapshot.objects.count() == Team.objects.count() == 2
    # a third of the people arrive twice; the duplicates were merged on the way in
    assert result.customers == 60
    assert (result.events, result.purchases) == (Event.objects.count(), Purchase.objects.count())
    emails = sorted(Customer.objects.values_list("email_domain", "country"))
    assert emails[0][0] == "example.com"
