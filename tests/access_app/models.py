"""A team-owned model used only by the tests of the access layer and the API base."""

from django.db import models
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from privacy.models import Team


class Note(models.Model):
    owner_team = models.ForeignKey(Team, on_delete=models.CASCADE)
    title = models.CharField(max_length=100)

    def __str__(self) -> str:
        return self.title


class NoteUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Note, on_delete=models.CASCADE)


class NoteGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Note, on_delete=models.CASCADE)


class Comment(models.Model):
    """Owned through its note: the access layer follows ``access_owner_path``."""

    access_owner_path = "note__owner_team"

    note = models.ForeignKey(Note, on_delete=models.CASCADE)
    body = models.TextField()

    def __str__(self) -> str:
        return self.body[:20]
