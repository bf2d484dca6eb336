import pytest

from customers.models import Customer
from privacy import roles
from privacy.models import AuditEntry


@pytest.fixture
def customers(team_a, team_b):
    return {
        "a": Customer.objects.create(owner_team=team_a, email="ann@example.com", given_name="Ann"),
        "b": Customer.objects.create(owner_team=team_b, email="bob@example.com", given_name="Bob"),
    }


def test_admin_list_shows_only_the_users_team_and_masks_contacts(
    verified_client, marketer_a, customers
):
    client = verified_client(marketer_a)
    response = client.get("/admin/customers/customer/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "a•••@example.com" in page
    assert "ann@example.com" not in page
    assert "b•••@example.com" not in page


def test_admin_list_unmasks_for_data_stewards(verified_client, make_user, team_a, customers):
    steward = make_user(roles.DATA_STEWARD, team_a)
    page = verified_client(steward).get("/admin/customers/customer/").content.decode()
    assert "ann@example.com" in page


def test_admin_change_page_of_another_teams_customer_is_not_found(
    verified_client, marketer_a, customers
):
    client = verified_client(marketer_a)
    response = client.get(f"/admin/customers/customer/{customers['b'].pk}/change/")
    assert response.status_code == 302  # the admin redirects "does not exist" to its index
    assert response["Location"] == "/admin/"


def test_admin_delete_needs_the_delete_permission_and_changes_nothing_without_it(
    verified_client, make_user, team_a, customers
):
    steward = make_user(roles.DATA_STEWARD, team_a)  # may change customers, not delete them
    client = verified_client(steward)
    delete = client.post(f"/admin/customers/customer/{customers['a'].pk}/delete/", {"post": "yes"})
    assert delete.status_code == 403
    client.post(
        "/admin/customers/customer/",
        {"action": "delete_selected", "_selected_action": [customers["a"].pk], "post": "yes"},
    )
    assert Customer.objects.filter(pk=customers["a"].pk).exists()
    assert not AuditEntry.objects.filter(action="subject.erase").exists()


def test_admin_bulk_delete_erases_the_teams_customers_through_the_service(
    verified_client, make_user, team_a, customers
):
    administrator = make_user(roles.ADMINISTRATOR, team_a)
    client = verified_client(administrator)
    selected = [customers["a"].pk, customers["b"].pk]  # team B's is not in reach
    bulk = client.post(
        "/admin/customers/customer/",
        {"action": "delete_selected", "_selected_action": selected, "post": "yes"},
    )
    assert bulk.status_code == 302
    assert not Customer.objects.filter(pk=customers["a"].pk).exists()
    assert Customer.objects.filter(pk=customers["b"].pk).exists()
    entry = AuditEntry.objects.get(action="subject.erase")
    assert (entry.metadata["customer_ids"], entry.metadata["reason"]) == (
        [customers["a"].pk],
        "admin",
    )


def test_admin_edit_goes_through_the_normalising_service(
    verified_client, make_user, team_a, customers
):
    steward = make_user(roles.DATA_STEWARD, team_a)
    client = verified_client(steward)
    customer = customers["a"]
    page = client.get(f"/admin/customers/customer/{customer.pk}/change/")
    form = page.context["adminform"].form
    data = {name: form.initial.get(name) or "" for name in form.fields}
    data.update(
        {
            "city": "  Berlin  ",
            "identities-TOTAL_FORMS": "0",
            "identities-INITIAL_FORMS": "0",
            "tags": "",
            "attributes": "{}",
        }
    )
    response = client.post(f"/admin/customers/customer/{customer.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    customer.refresh_from_db()
    assert customer.city == "Berlin"


def test_admin_merge_action_merges_into_the_oldest_and_ignores_other_teams(
    verified_client, make_user, team_a, customers
):
    from customers.models import MergeRecord

    extra = Customer.objects.create(owner_team=team_a, email="ann2@example.com")
    client = verified_client(make_user(roles.MARKETER, team_a))
    response = client.post(
        "/admin/customers/customer/",
        {
            "action": "merge_selected",
            "_selected_action": [customers["a"].pk, extra.pk, customers["b"].pk],
        },
    )
    assert response.status_code == 302
    extra.refresh_from_db()
    assert extra.merged_into_id == customers["a"].pk
    assert MergeRecord.objects.get().reason == "admin"
    customers["b"].refresh_from_db()
    assert customers["b"].merged_into_id is None


def test_admin_upload_starts_an_import_through_the_service(
    verified_client, marketer_a, team_a, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from customers.models import ImportJob
    from customers.services.imports import import_job_run

    client = verified_client(marketer_a)
    form = client.get("/admin/customers/importjob/add/")
    assert form.status_code == 200
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            "/admin/customers/importjob/add/",
            {
                "upload": SimpleUploadedFile("a.csv", b"email\nann@example.com\nbad\n"),
                "owner_team": team_a.pk,
                "kind": "customers",
            },
        )
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert (job.owner_team, job.created_by, len(callbacks)) == (team_a, marketer_a, 1)
    finished = import_job_run(job_id=job.pk)
    assert (finished.created_count, finished.rejected_count) == (1, 1)


def test_admin_upload_of_an_empty_file_says_why(verified_client, marketer_a, team_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from customers.models import ImportJob

    client = verified_client(marketer_a)
    response = client.post(
        "/admin/customers/importjob/add/",
        {
            "upload": SimpleUploadedFile("a.csv", b"colour\nred\n"),
            "owner_team": team_a.pk,
            "kind": "customers",
        },
        follow=True,
    )
    assert "Map at least one identifier column" in response.content.decode()
    assert ImportJob.objects.count() == 0
