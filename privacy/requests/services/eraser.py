"""The eraser of requests: requests about an erased person forget what they were told."""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.db import transaction

from privacy.models import (
    DataSubjectRequest,
    Team,
)

# --- Erasure ------------------------------------------------------------------------------------

_REQUESTS_TABLE = DataSubjectRequest._meta.db_table
_REQUESTS_OF_SUBJECTS = (
    f'SELECT id, package FROM "{_REQUESTS_TABLE}" '  # noqa: S608
    "WHERE owner_team_id = %s AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(customer_ids) "
    "AS subject(id) WHERE subject.id::bigint = ANY(%s::bigint[])) FOR UPDATE"
)
_REQUESTS_FORGET = (
    f'UPDATE "{_REQUESTS_TABLE}" SET subject_email = NULL, subject_phone = NULL, '  # noqa: S608
    "subject_name = NULL, details = NULL, verification_note = '', extension_reason = '', "
    "outcome_note = '', answer_note = '', "
    "package = '', package_size = NULL, package_expires_at = NULL, updated_at = now() "
    "WHERE id = ANY(%s::bigint[])"
)


def requests_erase(*, team: Team, customer_ids: list[int]) -> dict[str, int]:
    """The privacy core's eraser for requests (registered in ``PrivacyConfig.ready()``).

    Every request of ``team`` about an erased customer forgets the contact details and words it
    was given, and its access package (a ZIP of the person's data) is deleted after commit. The
    requests themselves stay, with kinds, dates and steps, to show how each was handled.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(_REQUESTS_OF_SUBJECTS, [team.pk, list(customer_ids)])
        found = cursor.fetchall()
        if not found:
            return {"privacy.data_subject_request": 0, "privacy.access_package": 0}
        cursor.execute(_REQUESTS_FORGET, [[pk for pk, _package in found]])
    packages = [package for _pk, package in found if package]

    def delete_packages() -> None:
        for name in packages:
            default_storage.delete(name)

    transaction.on_commit(delete_packages)
    return {"privacy.data_subject_request": len(found), "privacy.access_package": len(packages)}
