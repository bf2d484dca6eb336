"""Uploaded files at rest: sealed with the field keys, without card numbers, deleted once the
job is done unless kept, and never left holding an erased person."""

import io
import logging
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from customers.models import Customer, ImportJob, RowOutcome
from customers.services.csv_files import WHITESPACE
from customers.services.import_files import import_file_open, import_file_store
from customers.services.imports import import_job_create, import_job_run
from customers.services.suppression import SUPPRESSED
from privacy.core.crypto import blind_index
from privacy.core.sealed_files import MAGIC
from privacy.erasure.services.erasure import subject_erase

EMAIL = "li.wei@example.cn"
PHONE = "+8613912345678"
NAME = "Wei Li"
CARD = "4111 1111 1111 1111"
CARD_DIGITS = CARD.replace(" ", "")
FILE = (
    "email,phone,first name,last name,notes\n"
    f"{EMAIL},+86 139 1234 5678,Wei,Li,paid with {CARD}\n"
    "ann.other@example.com,,Ann,Other,\n"
).encode()
OTHER_FILE = (
    f"email,first name,last name,notes\nbo.zhang@example.cn,Bo,Zhang,card {CARD_DIGITS}\n"
).encode()
PERSONAL = [EMAIL, PHONE, "+86 139 1234 5678", "Wei", CARD, CARD_DIGITS]


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def li_wei() -> Customer:
    return Customer.objects.get(identities__lookup_key=blind_index(EMAIL, purpose="email"))


def stored_files(media: Path) -> dict[str, bytes]:
    if not media.exists():
        return {}
    return {
        path.relative_to(media).as_posix(): path.read_bytes()
        for path in media.rglob("*")
        if path.is_file()
    }


def run_file_callbacks(callbacks) -> None:
    """Run what was deferred to commit, except queueing tasks (no worker in these tests)."""
    for callback in callbacks:
        if "delay" not in callback.__code__.co_names:
            callback()


def create(user, team, content: bytes, capture, **options) -> ImportJob:
    with capture(execute=False):
        return import_job_create(
            user=user, team=team, upload=SimpleUploadedFile("crm.csv", content), options=options
        )


def run(job: ImportJob, capture) -> ImportJob:
    with capture(execute=False) as callbacks:
        job = import_job_run(job_id=job.pk)
    run_file_callbacks(callbacks)
    return job


def test_an_upload_is_sealed_on_disk_and_deleted_once_the_job_is_done(
    team_a, marketer_a, media, django_capture_on_commit_callbacks
):
    # Given an uploaded file, waiting for the worker
    job = create(marketer_a, team_a, FILE, django_capture_on_commit_callbacks)

    # Then the bytes on disk are sealed: no email, name or card number among them
    [(name, raw)] = stored_files(media).items()
    assert name == job.file.name and name.startswith("imports/")
    assert raw.startswith(MAGIC)
    for value in PERSONAL:
        assert value.encode() not in raw
    # ...and read through the keys they are the file, card number taken out
    with import_file_open(job.file.storage, job.file.name) as handle:
        plaintext = handle.read()
    assert plaintext.startswith(b"email,phone,first name,last name,notes\n" + EMAIL.encode())
    assert CARD.encode() not in plaintext and b"[card-removed:" in plaintext

    # When the worker runs it
    job = run(job, django_capture_on_commit_callbacks)

    # Then the import still warns about the card number, and the file is gone
    assert job.created_count == 2
    [warned] = job.rows.filter(line_number=2)
    assert warned.warnings == ["payment card number in notes must not be stored"]
    assert li_wei().notes is None
    assert stored_files(media) == {}
    assert ImportJob.objects.get(pk=job.pk).file.name == ""


def test_a_file_kept_at_upload_stays_sealed_after_the_job(
    team_a, marketer_a, media, django_capture_on_commit_callbacks
):
    job = create(marketer_a, team_a, FILE, django_capture_on_commit_callbacks, keep_file=True)
    job = run(job, django_capture_on_commit_callbacks)

    [(name, raw)] = stored_files(media).items()
    assert ImportJob.objects.get(pk=job.pk).file.name == name
    assert EMAIL.encode() not in raw and CARD_DIGITS.encode() not in raw


def test_a_reuploaded_file_of_erased_people_leaves_nothing_on_disk(
    team_a, marketer_a, steward, media, django_capture_on_commit_callbacks
):
    # Given Li Wei imported, then erased
    first = run(
        create(marketer_a, team_a, FILE, django_capture_on_commit_callbacks),
        django_capture_on_commit_callbacks,
    )
    subject_erase(customer_ids=[li_wei().pk], team=team_a, actor=steward, reason="request")
    assert first.file.name == ""

    # When a file holding only Li Wei is uploaded again, even asking to keep it
    again = "email,first name,notes\n" + f"{EMAIL},Wei,{CARD}\n"
    job = create(
        marketer_a, team_a, again.encode(), django_capture_on_commit_callbacks, keep_file=True
    )
    job = run(job, django_capture_on_commit_callbacks)

    # Then the row is refused as suppressed and no file is left on disk
    [row] = job.rows.all()
    assert (row.outcome, row.reason) == (RowOutcome.REJECTED, SUPPRESSED)
    assert stored_files(media) == {}


def test_after_an_import_with_a_card_number_and_an_erasure_nothing_holds_them(
    team_a, marketer_a, steward, media, django_capture_on_commit_callbacks, caplog
):
    caplog.set_level(logging.DEBUG)
    # Given Li Wei's file (with a card number) and another file, both kept, imported
    kept = run(
        create(marketer_a, team_a, FILE, django_capture_on_commit_callbacks, keep_file=True),
        django_capture_on_commit_callbacks,
    )
    other = run(
        create(marketer_a, team_a, OTHER_FILE, django_capture_on_commit_callbacks, keep_file=True),
        django_capture_on_commit_callbacks,
    )
    assert len(stored_files(media)) == 2

    # When Li Wei is erased
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        subject_erase(
            customer_ids=[li_wei().pk],
            team=team_a,
            actor=steward,
            reason="request",
        )
    run_file_callbacks(callbacks)

    # Then the kept file naming Li Wei is gone; the other one stays, sealed
    assert ImportJob.objects.get(pk=kept.pk).file.name == ""
    files = stored_files(media)
    assert list(files) == [ImportJob.objects.get(pk=other.pk).file.name]
    # A raw byte scan of the media directory finds none of the values
    for raw in files.values():
        for value in [*PERSONAL, "bo.zhang@example.cn", "Zhang"]:
            assert value.encode() not in raw
    # privacy_scan, run for real over the database and the media directory (decrypting the
    # sealed file), finds neither Li Wei nor the card number anywhere
    call_command(
        "privacy_scan",
        "--email", EMAIL, "--phone", PHONE, "--name", NAME, "--text", CARD, "--text", CARD_DIGITS,
    )  # fmt: skip
    # ...and nothing was logged of them either
    for value in PERSONAL:
        assert value not in caplog.text


def test_privacy_scan_reports_what_the_media_directory_holds(
    team_a, marketer_a, media, django_capture_on_commit_callbacks, capsys
):
    # Given a sealed upload of Bo Zhang kept, and a plain file with a card number beside it
    run(
        create(marketer_a, team_a, OTHER_FILE, django_capture_on_commit_callbacks, keep_file=True),
        django_capture_on_commit_callbacks,
    )
    (media / "exports").mkdir()
    (media / "exports" / "list.csv").write_text(f"name,card\nSomeone,{CARD}\n")

    # When privacy_scan looks for Bo Zhang
    with pytest.raises(CommandError) as error:
        call_command("privacy_scan", "--email", "bo.zhang@example.cn", "--name", "Bo Zhang")

    # Then it finds him in the sealed file (read through the keys) and the card number in the
    # plain one; the card number taken out of the sealed file is not there any more
    output = capsys.readouterr().out
    assert error.value.returncode == 1
    [sealed] = [name for name in stored_files(media) if name.startswith("imports/")]
    assert f"FOUND  media:{sealed}: email (as given) in 1 row(s)" in output
    assert f"FOUND  media:{sealed}: name (tokens) in 1 row(s)" in output
    assert "FOUND  media:exports/list.csv: card number in 1 row(s)" in output
    assert f"media:{sealed}: card number" not in output


@pytest.mark.parametrize(
    ("line", "spaces_separate", "expected"),
    [
        ("x,card 4111 1111 1111 1111 exp 12/29", False, "x,card [card-removed:"),
        ("x,4111-1111-1111-1111", True, "x,[card-removed:"),
        # International phone numbers stay, however many digits they have
        ("x,004915100327894", False, "x,004915100327894"),
        ("x,+4111111111111111", False, "x,+4111111111111111"),
        # In a file of whitespace-separated columns a space separates values
        ("10003 19970101 1 11.77", True, "10003 19970101 1 11.77"),
    ],
    ids=["spaced card", "dashed card", "00 phone", "+ phone", "whitespace columns"],
)
def test_only_card_numbers_are_taken_out_of_a_stored_file(
    line, spaces_separate, expected, team_a, media
):
    delimiter = WHITESPACE if spaces_separate else ","
    name = import_file_store(
        storage=default_storage,
        name="imports/check.csv",
        upload=io.BytesIO(f"{line}\n".encode()),
        encoding="utf-8",
        delimiter=delimiter,
    )
    with import_file_open(default_storage, name) as handle:
        assert handle.read().decode().startswith(expected)


def test_a_dry_run_never_keeps_its_file(
    team_a, marketer_a, media, django_capture_on_commit_callbacks
):
    # A dry run links no customer, so an erasure could not find the file to delete it
    with django_capture_on_commit_callbacks(execute=False):
        job = import_job_create(
            user=marketer_a,
            team=team_a,
            upload=SimpleUploadedFile("crm.csv", FILE),
            options={"keep_file": True},
            is_dry_run=True,
        )
    run(job, django_capture_on_commit_callbacks)
    assert stored_files(media) == {}
