"""Writes of the test app's notes, audited in the same transaction like the project's services."""

from django.db import transaction

from privacy.core.access import team_for_user
from privacy.core.services.audit import audit_record
from tests.access_app.models import Note


@transaction.atomic
def note_create(*, actor, team_id: int | None, title: str) -> Note:
    note = Note.objects.create(owner_team=team_for_user(actor, team_id), title=title)
    audit_record(action="note.create", actor=actor, target=note)
    return note


@transaction.atomic
def note_update(*, actor, note: Note, title: str) -> Note:
    note.title = title
    note.save(update_fields=["title"])
    audit_record(action="note.update", actor=actor, target=note)
    return note
