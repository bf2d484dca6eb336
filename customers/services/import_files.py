"""Uploaded import files at rest: sealed, without card numbers, and gone once the job is done.

- ``import_file_store`` writes an upload sealed with the field keys
  (``privacy.core.sealed_files``), streaming, after taking every payment card number out of its
  text (``privacy.core.cards``): the normalisation refuses to keep card numbers in any field, so
  the stored file must not hold them either. The marker left in their place still makes the
  import warn that a card number was in that field.
- ``import_file_open`` reads one back as plaintext bytes, for the wizard's preview and mapping
  and for the worker; files stored before sealing existed are read as they are.
- ``import_file_discard`` deletes a job's file once its run and report are done, unless the
  user asked to keep it at upload (``keep_file``; retention then deletes it after its period).
  A kept file never holds an erased person: a run that refused a row as suppressed does not
  keep its file, and an erasure deletes the kept files that name the person
  (``customers.services.erasure``).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from typing import BinaryIO

from django.core.files.storage import Storage
from django.db import transaction

from customers.models import ImportJob, ImportRow
from customers.services.csv_files import UNDECODABLE, WHITESPACE
from customers.services.suppression import SUPPRESSED
from privacy.core.cards import card_numbers_removed
from privacy.core.sealed_files import CHUNK_BYTES, sealed_open, sealed_save

_RESTORE_UNDECODABLE = "marketbase.restore-undecodable"


def _restore_undecodable(error: UnicodeError) -> tuple[bytes, int]:
    """Write the bytes that decoding marked as undecodable back as they were."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    marked = error.object[error.start : error.end]
    if not all(0xDC00 <= ord(char) <= 0xDCFF for char in marked):
        raise error
    return bytes(ord(char) - 0xDC00 for char in marked), error.end


codecs.register_error(_RESTORE_UNDECODABLE, _restore_undecodable)


def _without_card_numbers(handle: BinaryIO, encoding: str, delimiter: str) -> Iterator[bytes]:
    """The file's bytes with card numbers replaced, line by line, in its own encoding.

    Lines keep their number and every other byte (undecodable ones included), so the rows a
    job reports are the rows of the file the user has.
    """
    decoder = codecs.getincrementaldecoder(encoding)(errors=UNDECODABLE)
    encoder = codecs.getincrementalencoder(encoding)(errors=_RESTORE_UNDECODABLE)
    spaces_separate = delimiter == WHITESPACE
    pending = ""
    while chunk := handle.read(CHUNK_BYTES):
        pending += decoder.decode(chunk)
        # A card number never spans lines: hold back the unfinished last one.
        cut = max(pending.rfind("\n"), pending.rfind("\r")) + 1
        if cut:
            yield encoder.encode(
                card_numbers_removed(pending[:cut], spaces_separate=spaces_separate)
            )
            pending = pending[cut:]
    pending += decoder.decode(b"", final=True)
    yield encoder.encode(card_numbers_removed(pending, spaces_separate=spaces_separate), final=True)


def import_file_store(
    *, storage: Storage, name: str, upload: BinaryIO, encoding: str, delimiter: str = ","
) -> str:
    """Store ``upload`` (a binary file of that encoding and column delimiter, as
    ``inspect_file`` found them) sealed and without card numbers.

    Returns the name it was stored under. Reads the upload once, from its start.
    """
    upload.seek(0)
    return sealed_save(storage, name, _without_card_numbers(upload, encoding, delimiter))


def import_file_open(storage: Storage, name: str) -> BinaryIO:
    """The plaintext of a stored import file (seekable, binary)."""
    return sealed_open(storage, name)


def _file_storage() -> Storage:
    return ImportJob._meta.get_field("file").storage


def import_file_discard(*, job: ImportJob, keep_if_asked: bool = True) -> bool:
    """Forget the job's file once its run is over, unless it is kept; True when it goes.

    The file is kept only when the user asked at upload (``options["keep_file"]``) and
    ``keep_if_asked`` (a cancelled job's file always goes), the job
    was not a dry run and no row was refused as suppressed: a kept file never holds an erased
    person. The file itself is
    deleted after commit, so a rolled-back transaction keeps it.
    """
    name = job.file.name
    if not name:
        return False
    # A dry run links no customer, so an erasure could not find its file: never kept.
    is_kept = (
        keep_if_asked
        and bool(job.options.get("keep_file"))
        and not job.is_dry_run
        and not ImportRow.objects.filter(job=job, reason=SUPPRESSED).exists()
    )
    if is_kept:
        return False
    ImportJob.objects.filter(pk=job.pk, file=name).update(file="")
    job.file.name = ""
    storage = _file_storage()
    transaction.on_commit(lambda: storage.delete(name))
    return True
