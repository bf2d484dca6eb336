"""Retention of the customers app's data: old events, old import files and row reports, and
inactive customers, who are erased through the erasure service."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.models import (
    Customer,
    Event,
    ImportJob,
    ImportRow,
    ImportStatus,
    Purchase,
    RowOutcome,
)
from customers.services.merge import customer_merge
from customers.services.retention import (
    CUSTOMER_LABEL,
    EVENT_LABEL,
    IMPORT_FILE_LABEL,
    IMPORT_ROW_LABEL,
    PURCHASE_LABEL,
    ImportFilesPurger,
    InactiveCustomersPurger,
    events_purger,
)
from privacy.core.crypto import blind_index
from privacy.core.scan import subject_scan
from privacy.models import (
    AuditEntry,
    DataSubjectRequest,
    RequestChannel,
    RequestKind,
    RequestStatus,
    RetentionPolicy,
    Suppression,
)
from privacy.retention.services import retention_policies_ensure, retention_purge
from tests.customers.factories import CustomerFactory, EventFactory, PurchaseFactory

DAYS = {"events": 730, "inactive_customers": 1095, "import_files": 90}


@pytest.fixture
def policies(db):
    retention_policies_ensure()
    for category, days in DAYS.items():
        RetentionPolicy.objects.filter(category=category).update(retain_days=days, is_active=True)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def days_ago(days: float):
    return timezone.now() - timedelta(days=days)


def idle_since(customer: Customer, days: float) -> Customer:
    """Make the profile look untouched for ``days`` (a queryset update keeps ``updated_at``)."""
    Customer.objects.filter(pk=customer.pk).update(updated_at=days_ago(days))
    customer.refresh_from_db()
    return customer


# --- Events ------------------------------------------------------------------------------------


def test_only_events_older_than_the_cutoff_go_and_a_second_run_removes_nothing(policies, team_a):
    # Given events on both sides of the 730-day cut-off
    customer = CustomerFactory(owner_team=team_a)
    old = [EventFactory(customer=customer, occurred_at=days_ago(730.01)) for _n in range(3)]
    kept = [
        EventFactory(customer=customer, occurred_at=days_ago(729.99)),
        EventFactory(customer=customer, occurred_at=days_ago(1)),
    ]

    # When the events policy runs
    result = retention_purge(category="events", batch_size=2)

    # Then exactly the older ones are gone, and the policy and the audit log say so
    assert result == {"events": {EVENT_LABEL: 3}}
    assert set(Event.objects.values_list("pk", flat=True)) == {event.pk for event in kept}
    assert not Event.objects.filter(pk__in=[event.pk for event in old]).exists()
    policy = RetentionPolicy.objects.get(category="events")
    assert policy.last_run_counts == {EVENT_LABEL: 3}
    assert policy.last_run_at is not None
    entry = AuditEntry.objects.get(action="retention.purge")
    assert (entry.object_type, entry.object_id) == ("privacy.retentionpolicy", str(policy.pk))
    assert entry.metadata["counts"] == {EVENT_LABEL: 3}

    # And a second run finds nothing
    assert retention_purge(category="events", batch_size=2) == {"events": {EVENT_LABEL: 0}}
    assert Event.objects.count() == 2


def test_an_inactive_policy_removes_nothing(policies, team_a):
    RetentionPolicy.objects.filter(category="events").update(is_active=False)
    EventFactory(customer=CustomerFactory(owner_team=team_a), occurred_at=days_ago(2000))

    assert retention_purge(category="events") == {}
    assert Event.objects.count() == 1
    assert not AuditEntry.objects.filter(action="retention.purge").exists()


def _event_rows(customer, count: int, *, days: float) -> None:
    Event.objects.bulk_create(
        Event(owner_team=customer.owner_team, customer=customer, type="view", occurred_at=when)
        for when in [days_ago(days)] * count
    )


@pytest.mark.parametrize("batches", [2, 5], ids=["two-batches", "five-batches"])
def test_each_event_batch_is_three_queries_whatever_the_rows(policies, team_a, batches):
    # Given full batches of old events (and newer ones that stay)
    customer = CustomerFactory(owner_team=team_a)
    _event_rows(customer, 7 * batches, days=800)
    _event_rows(customer, 3, days=1)

    # When purging them seven at a time
    with CaptureQueriesContext(connection) as queries:
        counts = events_purger().purge(before=days_ago(730), batch_size=7)

    # Then each batch is a savepoint, one DELETE, a release; the last (empty) batch ends it
    assert counts == {EVENT_LABEL: 7 * batches}
    assert len(queries) == 3 * (batches + 1)
    deletes = [query["sql"] for query in queries if "DELETE" in query["sql"]]
    assert len(deletes) == batches + 1


# --- Import files and row reports --------------------------------------------------------------


def _job(team, *, status, finished_days, rows: int, name: str) -> ImportJob:
    stored = default_storage.save(f"imports/{name}.csv", ContentFile(b"email\nann@example.com\n"))
    job = ImportJob.objects.create(
        owner_team=team,
        file=stored,
        original_filename=f"{name}.csv",
        status=status,
        total_rows=rows,
        processed_rows=rows,
        created_count=rows,
        finished_at=days_ago(finished_days) if status != ImportStatus.RUNNING else None,
    )
    ImportJob.objects.filter(pk=job.pk).update(created_at=days_ago(finished_days + 1))
    ImportRow.objects.bulk_create(
        ImportRow(job=job, line_number=line, outcome=RowOutcome.CREATED)
        for line in range(2, rows + 2)
    )
    return job


def test_old_imports_lose_their_file_and_row_report_but_keep_their_counts(
    policies, team_a, media, django_capture_on_commit_callbacks
):
    # Given a finished and a failed import from before the 90-day cut-off, a recent one, and
    # one that has been running since long ago
    old = _job(team_a, status=ImportStatus.SUCCEEDED, finished_days=100, rows=5, name="old")
    failed = _job(team_a, status=ImportStatus.FAILED, finished_days=95, rows=2, name="failed")
    recent = _job(team_a, status=ImportStatus.SUCCEEDED, finished_days=10, rows=3, name="new")
    running = _job(team_a, status=ImportStatus.RUNNING, finished_days=200, rows=4, name="run")
    old_files = [old.file.name, failed.file.name]
    preview = ImportFilesPurger().count(before=days_ago(90))

    # When the import-files policy runs, in batches of two
    with django_capture_on_commit_callbacks(execute=True):
        result = retention_purge(category="import_files", batch_size=2)

    # Then the preview matched, the old jobs lost rows and files, and kept their counts
    assert preview == {IMPORT_ROW_LABEL: 7, IMPORT_FILE_LABEL: 2}
    assert result == {"import_files": preview}
    for job in (old, failed):
        job.refresh_from_db()
        assert job.file.name == ""
        assert not ImportRow.objects.filter(job=job).exists()
    assert (old.created_count, old.total_rows, old.status) == (5, 5, ImportStatus.SUCCEEDED)
    assert not any(default_storage.exists(name) for name in old_files)
    for job, rows in ((recent, 3), (running, 4)):
        job.refresh_from_db()
        assert default_storage.exists(job.file.name)
        assert ImportRow.objects.filter(job=job).count() == rows

    # And a second run removes nothing
    result = retention_purge(category="import_files", batch_size=2)
    assert result == {"import_files": {IMPORT_ROW_LABEL: 0, IMPORT_FILE_LABEL: 0}}


# --- Inactive customers ------------------------------------------------------------------------

EMAIL, PHONE = "olaf.gone@example.org", "+4915199990001"


@pytest.fixture
def inactive(policies, team_a):
    """Olaf: nothing happened since four years ago (profile, purchase, events)."""
    olaf = CustomerFactory(
        owner_team=team_a, email=EMAIL, phone=PHONE, given_name="Olaf", family_name="Gone"
    )
    EventFactory(customer=olaf, occurred_at=days_ago(1500), properties={"form_email": EMAIL})
    PurchaseFactory(customer=olaf, occurred_at=days_ago(1400))
    Customer.objects.filter(pk=olaf.pk).update(last_purchase_at=days_ago(1400))
    return idle_since(olaf, 1200)


def request_for(team, customer_ids, status=RequestStatus.PROCESSING) -> DataSubjectRequest:
    now = timezone.now()
    return DataSubjectRequest.objects.create(
        owner_team=team,
        kind=RequestKind.ACCESS,
        channel=RequestChannel.EMAIL,
        received_at=now,
        due_on=now.date() + timedelta(days=30),
        status=status,
        customer_ids=customer_ids,
    )


def test_inactive_customers_are_erased_through_the_erasure_service(inactive, team_a, media):
    # Given Olaf, inactive for longer than 1,095 days, and an active customer
    active = CustomerFactory(owner_team=team_a)
    assert not subject_scan(emails=[EMAIL], phones=[PHONE], names=["Olaf Gone"]).is_clean

    # When the inactive-customers policy runs
    result = retention_purge(category="inactive_customers")

    # Then Olaf is erased like any erasure: suppressed, with his event and purchase, audited
    counts = result["inactive_customers"]
    assert counts[CUSTOMER_LABEL] == 1
    assert (counts[EVENT_LABEL], counts[PURCHASE_LABEL]) == (1, 1)
    assert not Customer.objects.filter(pk=inactive.pk).exists()
    assert list(Customer.objects.values_list("pk", flat=True)) == [active.pk]
    assert set(Suppression.objects.filter(owner_team=team_a).values_list("kind", "lookup_key")) == {
        ("email", blind_index(EMAIL, purpose="email")),
        ("phone", blind_index(PHONE, purpose="phone")),
    }
    assert set(Suppression.objects.values_list("reason", flat=True)) == {"retention"}
    erasure = AuditEntry.objects.get(action="subject.erase")
    assert erasure.metadata["reason"] == "retention"
    assert erasure.metadata["erased_customer_ids"] == [inactive.pk]

    # And privacy_scan finds nothing of him (the suppression's keyed hashes are "kept")
    scan = subject_scan(emails=[EMAIL], phones=[PHONE], names=["Olaf Gone"])
    assert scan.found == []
    assert {hit.location.rsplit(".", 1)[0] for hit in scan.kept} == {"public.privacy_suppression"}


@pytest.mark.parametrize(
    "activity",
    ["profile_updated", "recent_event", "recent_purchase", "last_purchase_at", "restricted"],
)
def test_customers_with_activity_since_the_cutoff_or_restricted_are_kept(inactive, activity):
    # Given Olaf with one sign of life since the cut-off (or restricted processing)
    recent = days_ago(1000)
    if activity == "profile_updated":
        Customer.objects.filter(pk=inactive.pk).update(updated_at=recent)
    elif activity == "recent_event":
        EventFactory(customer=inactive, occurred_at=recent)
    elif activity == "recent_purchase":
        PurchaseFactory(customer=inactive, occurred_at=recent)
    elif activity == "last_purchase_at":
        Customer.objects.filter(pk=inactive.pk).update(last_purchase_at=recent)
    else:
        Customer.objects.filter(pk=inactive.pk).update(processing_restricted_at=recent)

    # When the policy is previewed and runs
    preview = InactiveCustomersPurger().count(before=days_ago(1095))
    result = retention_purge(category="inactive_customers")

    # Then Olaf stays
    assert preview == {CUSTOMER_LABEL: 0, PURCHASE_LABEL: 0}
    assert result["inactive_customers"][CUSTOMER_LABEL] == 0
    assert Customer.objects.filter(pk=inactive.pk).exists()
    assert not AuditEntry.objects.filter(action="subject.erase").exists()


@pytest.mark.parametrize("named", ["survivor", "merged_profile"])
def test_customers_named_by_an_open_request_are_kept(inactive, team_a, named):
    # Given Olaf, into whom another profile was merged, and an open request naming one of them
    other = CustomerFactory(owner_team=team_a)
    customer_merge(survivor=inactive, merged=other, reason="staff")
    idle_since(inactive, 1200)
    request_for(team_a, [inactive.pk if named == "survivor" else other.pk])
    finished = idle_since(CustomerFactory(owner_team=team_a), 1200)
    request_for(team_a, [finished.pk], status=RequestStatus.COMPLETED)

    # When the policy runs
    result = retention_purge(category="inactive_customers")

    # Then Olaf and his merged profile stay; a closed request protects no one
    assert result["inactive_customers"][CUSTOMER_LABEL] == 1
    assert set(Customer.objects.values_list("pk", flat=True)) == {inactive.pk, other.pk}


def test_merged_profiles_go_with_their_inactive_survivor_and_the_preview_says_so(inactive, team_a):
    # Given Olaf with a profile merged into him
    other = CustomerFactory(owner_team=team_a)
    PurchaseFactory(customer=other, occurred_at=days_ago(1300))
    customer_merge(survivor=inactive, merged=other, reason="staff")
    idle_since(inactive, 1200)

    # When previewed, then purged
    preview = InactiveCustomersPurger().count(before=days_ago(1095))
    result = retention_purge(category="inactive_customers")["inactive_customers"]

    # Then both profiles went, as the preview said
    assert preview == {CUSTOMER_LABEL: 2, PURCHASE_LABEL: 2}
    assert {label: result[label] for label in preview} == preview
    assert not Customer.objects.filter(pk__in=[inactive.pk, other.pk]).exists()
    assert not Purchase.objects.exists()


def test_inactive_customers_of_several_teams_are_erased_per_team_in_batches(
    policies, team_a, team_b
):
    # Given five inactive customers over two teams
    customers = [
        idle_since(CustomerFactory(owner_team=team), 1200)
        for team in (team_a, team_b, team_a, team_b, team_a)
    ]

    # When purged two at a time
    result = retention_purge(category="inactive_customers", batch_size=2)

    # Then all went, each erasure audited for one team
    assert result["inactive_customers"][CUSTOMER_LABEL] == 5
    assert not Customer.objects.filter(pk__in=[c.pk for c in customers]).exists()
    erasures = AuditEntry.objects.filter(action="subject.erase")
    assert sorted(len(entry.metadata["erased_customer_ids"]) for entry in erasures) == [1, 1, 1, 2]
    assert {(entry.object_type, entry.object_id) for entry in erasures} == {
        ("privacy.team", str(team_a.pk)),
        ("privacy.team", str(team_b.pk)),
    }


def test_each_batch_of_inactive_customers_costs_the_same_queries(policies, team_a):
    # Given inactive customers with different amounts of history
    def make(count: int) -> None:
        for index in range(count):
            customer = CustomerFactory(owner_team=team_a)
            _event_rows(customer, 1 + 20 * index, days=1500)
            idle_since(customer, 1200)

    def queries_for(count: int) -> int:
        make(count)
        with CaptureQueriesContext(connection) as queries:
            InactiveCustomersPurger().purge(before=days_ago(1095), batch_size=1)
        assert not Customer.objects.exists()
        return len(queries)

    # When purging one customer per batch, for two and for four customers
    two, four = queries_for(2), queries_for(4)

    # Then the two extra batches cost exactly as much as the first two
    empty = queries_for(0)
    assert four - two == two - empty
