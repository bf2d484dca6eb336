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


@pytest.mark.django_db
def test_ensure_admin_makes_the_first_team_with_the_administrator_in_it(capsys, monkeypatch):
    # Given a fresh install: no team, no administrator
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "boss")
    monkeypatch.setenv("MARKETBASE_FIRST_TEAM", "Marketing")
    assert not Team.objects.exists()

    # When the administrator is ensured, twice
    call_command("ensure_admin")
    call_command("ensure_admin")

    # Then one team exists, the administrator is its member, both steps audited
    team = Team.objects.select_related("group").get()
    assert team.group.name == "Marketing"
    admin = get_user_model().objects.get(username="boss")
    assert list(admin.groups.filter(pk=team.group_id)) == [team.group]
    actions = sorted(AuditEntry.objects.values_list("action", flat=True))
    assert actions == ["team.create", "team.member_add", "user.create_administrator"]


@pytest.mark.django_db
def test_ensure_admin_leaves_existing_teams_alone(monkeypatch, team_a):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "boss")

    call_command("ensure_admin")

    assert list(Team.objects.all()) == [team_a]
    assert not get_user_model().objects.get(username="boss").groups.filter(pk=team_a.group_id)


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
    # a third of the people arrive twice: merged on the way in when the email or phone tells,
    # proposed in the duplicates queue when they came under another address
    assert result.duplicate_suggestions > 0
    assert result.customers == 60 + result.duplicate_suggestions
    assert (result.events, result.purchases) == (Event.objects.count(), Purchase.objects.count())
    emails = sorted(Customer.objects.values_list("email_domain", "country"))
    assert emails[0][0] == "example.com"


@pytest.mark.django_db
def test_seed_demo_leaves_customers_enriched_and_duplicates_suggested(capsys):
    from django.db.models import Count, Sum

    from customers.models import Customer, DuplicateCandidate, LifecycleStatus, Purchase
    from customers.services.duplicates import duplicates_find

    # When the demo is seeded with customers
    call_command("seed_demo", "--seed", "5", "--customers", "200")

    # Then every buyer's order count and spend are those of its purchases, with an RFM group
    # and the "customer" lifecycle; nobody else has a group
    bought = {
        row["customer_id"]: (row["orders"], row["spend"])
        for row in Purchase.objects.values("customer_id").annotate(
            orders=Count("id"), spend=Sum("amount")
        )
    }
    active = Customer.objects.active()
    buyers = active.filter(order_count__gt=0)
    assert (
        bought
        and {
            pk: (orders, spend)
            for pk, orders, spend in buyers.values_list("pk", "order_count", "total_spend")
        }
        == bought
    )
    assert not buyers.filter(rfm_group="").exists()
    assert set(buyers.values_list("lifecycle_status", flat=True)) == {LifecycleStatus.CUSTOMER}
    assert not active.filter(order_count=0).exclude(rfm_group="").exists()
    assert not active.filter(metrics_updated_at__isnull=True).exists()
    # And duplicate detection ran: its suggestions are there, and a new run finds nothing more
    suggestions = DuplicateCandidate.objects.count()
    assert suggestions > 0
    assert f"{suggestions} possible duplicates to review" in capsys.readouterr().out
    assert sum(duplicates_find(team_id=team.pk) for team in Team.objects.all()) == 0
