import pytest

from customers.models import Customer, ImportTemplate
from privacy.core import roles
from privacy.models import AuditEntry


@pytest.fixture
def customers(team_a, team_b):
    return {
        "a": Customer.objects.create(owner_team=team_a, email="ann@example.com", given_name="Ann"),
        "b": Customer.objects.create(owner_team=team_b, email="bob@example.com", given_name="Bob"),
    }


def change_form_data(client, customer, **changes) -> dict:
    """The customer's admin change form as the page fills it in, with ``changes``."""
    page = client.get(f"/admin/customers/customer/{customer.pk}/change/")
    form = page.context["adminform"].form
    data = {name: form.initial.get(name) or "" for name in form.fields}
    data.update(
        {
            "identities-TOTAL_FORMS": "0",
            "identities-INITIAL_FORMS": "0",
            "tags": "",
            "attributes": "{}",
            **changes,
        }
    )
    return data


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
    data = change_form_data(client, customer, city="  Berlin  ")
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


# --- Masked fields: the API's list, in the list, the form, search and filters ---------------------


@pytest.fixture
def born(team_a):
    import datetime

    return Customer.objects.create(
        owner_team=team_a,
        email="ada@example.com",
        given_name="Ada",
        family_name="Lovelace",
        birth_date=datetime.date(1985, 12, 10),
        notes="Prefers calls",
    )


BIRTH_DATE_FORMS = ("1985-12-10", "Dec. 10, 1985", "10 Dec 1985", "1985")


def test_admin_change_form_shows_a_marketer_the_birth_date_masked_and_read_only(
    verified_client, marketer_a, born
):
    # Given a marketer (may change customers, may not view personal data)
    client = verified_client(marketer_a)

    # When she opens the customer's change form
    response = client.get(f"/admin/customers/customer/{born.pk}/change/")

    # Then no masked field is an input, each is shown masked, and the birth date is not there
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert {"birth_date", "email", "phone", "given_name", "family_name", "notes"}.isdisjoint(
        form.fields
    )
    readonly = {
        field.field["name"]: field.contents()
        for fieldset in response.context["adminform"]
        for line in fieldset
        for field in line
        if field.is_readonly
    }
    assert {name: readonly[name] for name in readonly if name.startswith("masked_")} == {
        "masked_email": "a•••@example.com",
        "masked_phone": "",
        "masked_given_name": "A•••",
        "masked_family_name": "L•••",
        "masked_postal_address": "",
        "masked_birth_date": "•••",
        "masked_notes": "•••",
    }
    page = response.content.decode()
    assert not any(shown in page for shown in BIRTH_DATE_FORMS)


def test_admin_change_form_keeps_a_marketers_post_away_from_the_birth_date(
    verified_client, marketer_a, born
):
    # Given a marketer who posts a birth date the form does not offer
    client = verified_client(marketer_a)
    data = change_form_data(client, born, birth_date="2000-01-01", email="someone@example.com")

    # When the form is saved
    response = client.post(f"/admin/customers/customer/{born.pk}/change/", data)

    # Then nothing masked changed
    assert response.status_code == 302
    born.refresh_from_db()
    assert (born.birth_date.isoformat(), born.email) == ("1985-12-10", "ada@example.com")


@pytest.mark.parametrize(
    "query",
    ["birth_date=1985-12-10", "birth_date__year=1985", "birth_date__gte=1985-01-01", "notes=x"],
    ids=["exact", "year", "range", "notes"],
)
def test_admin_list_cannot_be_filtered_on_a_masked_field_by_a_marketer(
    verified_client, marketer_a, born, team_a, query
):
    # Given a marketer and two customers of her team, one born in 1985
    Customer.objects.create(owner_team=team_a, email="bob@example.com")
    client = verified_client(marketer_a)

    # When she filters the list on the birth date through the address bar
    response = client.get(f"/admin/customers/customer/?{query}")

    # Then the admin refuses the filter instead of telling who matches
    assert response.status_code == 400


def test_admin_list_and_form_show_a_steward_the_birth_date(verified_client, steward, born):
    client = verified_client(steward)
    assert client.get("/admin/customers/customer/?birth_date__year=1985").status_code == 200
    form = client.get(f"/admin/customers/customer/{born.pk}/change/").context["adminform"].form
    assert form.initial["birth_date"].isoformat() == "1985-12-10"
    assert "masked_birth_date" not in form.fields


def test_admin_search_and_filters_offer_no_masked_field(rf, marketer_a):
    # Given the customer admin as a marketer sees it
    from django.contrib import admin

    from customers.masking import customer_masks

    request = rf.get("/admin/customers/customer/")
    request.user = marketer_a
    model_admin = admin.site._registry[Customer]

    # Then neither search nor filters reach a masked column
    lookups = [*model_admin.get_search_fields(request), *model_admin.get_list_filter(request)]
    names = {
        (lookup if isinstance(lookup, str) else lookup[0]).lstrip("^=@").split("__")[0]
        for lookup in lookups
    }
    assert names.isdisjoint(customer_masks())


# --- Import templates: the user's teams only, saved through the services and audited -------------


def test_admin_template_form_offers_only_the_users_teams(verified_client, marketer_a, team_b):
    # Given a marketer of team A, and a team B
    client = verified_client(marketer_a)

    # When she opens the form to add an import template
    response = client.get("/admin/customers/importtemplate/add/")

    # Then only her team is offered, and team B is not named
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert [team.name for team in form.fields["owner_team"].queryset] == ["Team A"]
    assert "Team B" not in response.content.decode()


def test_admin_template_for_another_team_is_refused(verified_client, marketer_a, team_b):
    # Given a marketer of team A who posts team B's number
    client = verified_client(marketer_a)

    # When she saves a template for team B
    response = client.post(
        "/admin/customers/importtemplate/add/",
        {
            "owner_team": team_b.pk,
            "name": "Theirs",
            "kind": "customers",
            "mapping": '{"E-Mail": "email"}',
        },
    )

    # Then the form refuses the team and nothing is saved or audited
    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["owner_team"]
    assert not ImportTemplate.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="import_template.").exists()


def test_admin_template_is_saved_changed_and_deleted_through_the_audited_services(
    verified_client, make_user, team_a
):
    # Given an administrator of team A (not a superuser)
    administrator = make_user(roles.ADMINISTRATOR, team_a)
    client = verified_client(administrator)

    # When she adds a template, renames it and deletes it
    added = client.post(
        "/admin/customers/importtemplate/add/",
        {
            "owner_team": team_a.pk,
            "name": "Shop export",
            "kind": "customers",
            "mapping": '{"E-Mail": "email"}',
        },
    )
    template = ImportTemplate.objects.get()
    changed = client.post(
        f"/admin/customers/importtemplate/{template.pk}/change/",
        {"name": "Shop export 2026", "kind": "customers", "mapping": '{"E-Mail": "email"}'},
    )
    template.refresh_from_db()
    renamed = template.name
    deleted = client.post(f"/admin/customers/importtemplate/{template.pk}/delete/", {"post": "yes"})

    # Then each step went through, and each is an audit entry of hers on the template
    assert (added.status_code, changed.status_code, deleted.status_code) == (302, 302, 302)
    assert renamed == "Shop export 2026"
    assert not ImportTemplate.objects.exists()
    entries = AuditEntry.objects.filter(action__startswith="import_template.").order_by("pk")
    assert [
        (entry.action, entry.actor_id, entry.object_id, entry.metadata) for entry in entries
    ] == [
        (
            "import_template.save",
            administrator.pk,
            str(template.pk),
            {"kind": "customers", "created": True},
        ),
        ("import_template.update", administrator.pk, str(template.pk), {"fields": ["name"]}),
        ("import_template.delete", administrator.pk, str(template.pk), {}),
    ]


def test_admin_template_rename_to_a_name_the_team_has_is_refused(
    verified_client, marketer_a, team_a
):
    # Given two templates of team A
    ImportTemplate.objects.create(owner_team=team_a, name="Shop", mapping={})
    other = ImportTemplate.objects.create(owner_team=team_a, name="CRM", mapping={})
    client = verified_client(marketer_a)

    # When the second is renamed as the first
    response = client.post(
        f"/admin/customers/importtemplate/{other.pk}/change/",
        {"name": "Shop", "kind": "customers", "mapping": '{"E-Mail": "email"}'},
    )

    # Then the form says so, and nothing changes
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "name": ["The team already has a template of this name."]
    }
    other.refresh_from_db()
    assert other.name == "CRM"


@pytest.mark.parametrize(
    "path",
    [
        "/admin/customers/customer/",
        "/admin/customers/importjob/",
        "/admin/customers/importtemplate/",
        "/admin/customers/importjob/add/",
    ],
    ids=["customers", "imports", "templates", "upload"],
)
def test_admin_lists_and_forms_name_only_the_users_teams(
    verified_client, marketer_a, team_a, team_b, path
):
    # Given records of team A and team B
    for team in (team_a, team_b):
        Customer.objects.create(owner_team=team, email=f"{team.slug}@example.com")
        ImportTemplate.objects.create(owner_team=team, name=f"Template {team.slug}", mapping={})

    # When team A's marketer opens a list (with its team filter) or the upload form
    response = verified_client(marketer_a).get(path)

    # Then team B is named nowhere
    assert response.status_code == 200
    assert "Team B" not in response.content.decode()
