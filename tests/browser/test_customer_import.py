"""Importing the messy customer file through the staff UI, with a real worker, in a browser."""

import csv
import io

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import expect

from config.celery import app
from customers.models import Customer, ImportJob, ImportRow, RowOutcome
from privacy.core import roles
from tests.conftest import totp_now
from tests.factories import TEST_PASSWORD, TeamFactory, TOTPDeviceFactory, UserFactory
from tests.shared_data import shared_file

WAIT_MS = 120_000


def _sign_in(page, base_url, user, device):
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Six-digit code from your authenticator app").fill(totp_now(device))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(f"{base_url}/")


@pytest.mark.browser
@pytest.mark.worker
def test_upload_adjust_mapping_watch_progress_download_report_open_profile(
    transactional_db, live_server, page, celery_worker_process, tmp_path
):
    # Given a marketer of one team who may export personal data (the row report is such an
    # export), and a worker consuming the default queue (emptied first)
    messy = shared_file("customers_messy.csv")
    team = TeamFactory(group__name="Retail")
    user = UserFactory(roles=[roles.MARKETER], teams=[team])
    user.user_permissions.add(Permission.objects.get(codename="export_personal_data"))
    device = TOTPDeviceFactory(user=user)
    with app.connection_for_write() as broker:
        broker.default_channel.queue_purge(app.conf.task_default_queue)
    celery_worker_process(app.conf.task_default_queue)
    base_url = live_server.url
    _sign_in(page, base_url, user, device)

    # When they upload the file and choose to ignore its notes column
    page.goto(f"{base_url}/customers/imports/new/")
    page.locator("input[type=file]").set_input_files(str(messy))
    page.get_by_role("button", name="Upload and choose columns").click()
    header = messy.read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    notes = page.locator(f"select[name=column_{header.index('notes')}]")
    expect(notes).to_have_value("notes")
    notes.select_option("")
    # (numeric dates are read in the order the file proves, else by each row's country)
    expect(page.get_by_label("Numeric dates such as 07/12/1946")).to_have_value("auto")
    page.get_by_role("button", name="Preview the rows").click()

    # Then the preview shows the first rows with their file line numbers (fields span lines)
    expect(page.locator("tr[data-line]").first).to_have_attribute("data-line", "2")
    expect(page.locator("tr[data-line]")).to_have_count(10)
    page.get_by_role("button", name="Import", exact=True).click()

    # And the progress bar reaches 100% as the worker imports
    expect(page.locator(".import-percent")).to_have_text("100%", timeout=WAIT_MS)
    job = ImportJob.objects.get()
    assert job.mapping["notes"] == ""
    expect(page.locator("[data-count=rejected]")).to_have_text("15")
    # ignoring the notes column drops the five card-number warnings; the 172 birth dates
    # that could be read both ways (the file mixes day-first and month-first US dates) stay
    expect(page.locator("[data-count=warnings]")).to_have_text("182")
    assert Customer.objects.active().count() == 1516

    # When they download the row report
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download row report").click()
    report_path = tmp_path / "report.csv"
    download_info.value.save_as(report_path)

    # Then it has one line per data row of the file, with the outcome of each
    rows = list(csv.DictReader(io.StringIO(report_path.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 2095
    assert sum(row["outcome"] == "rejected" for row in rows) == 15
    assert rows[0]["line"] == "2"

    # When they open a profile that several rows were merged into
    merged_row = ImportRow.objects.filter(job=job, outcome=RowOutcome.MERGED).order_by("pk").first()
    page.goto(f"{base_url}/customers/{merged_row.customer_id}/")

    # Then the profile shows its identities (masked for a marketer) and its timeline
    expect(page.locator("#timeline")).to_be_visible()
    expect(page.get_by_text("•••").first).to_be_visible()
