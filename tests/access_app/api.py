from rest_framework import permissions, routers, serializers

from privacy.core.rest.viewsets import ScopedModelViewSet, ScopedReadOnlyViewSet
from tests.access_app.models import Note
from tests.access_app.services import note_create, note_update


class NoteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Note
        fields = ["id", "owner_team", "title"]


class NoteViewSet(ScopedModelViewSet):
    queryset = Note.objects.all()
    serializer_class = NoteSerializer

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = note_create(
            actor=self.request.user, team_id=data["owner_team"].pk, title=data["title"]
        )

    def perform_update(self, serializer):
        serializer.instance = note_update(
            actor=self.request.user,
            note=serializer.instance,
            title=serializer.validated_data.get("title", serializer.instance.title),
        )


class AllTeamsNoteViewSet(ScopedReadOnlyViewSet):
    """Every team's notes to whoever's role may view notes: the unscoped escape hatch."""

    serializer_class = NoteSerializer

    def dangerously_unscoped_queryset(self):
        return Note.objects.all()


class PublicNoteViewSet(ScopedReadOnlyViewSet):
    """Notes to anybody, signed in or not: both escape hatches."""

    serializer_class = NoteSerializer
    dangerously_allow_anonymous = True
    authentication_classes = []
    permission_classes = [permissions.AllowAny]

    def dangerously_unscoped_queryset(self):
        return Note.objects.all()


router = routers.SimpleRouter()
router.register("notes", NoteViewSet, basename="note")
router.register("all-team-notes", AllTeamsNoteViewSet, basename="all-team-note")
router.register("public-notes", PublicNoteViewSet, basename="public-note")
