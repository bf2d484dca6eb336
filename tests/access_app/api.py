from rest_framework import routers, serializers

from privacy.core.rest.viewsets import ScopedModelViewSet
from tests.access_app.models import Note


class NoteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Note
        fields = ["id", "owner_team", "title"]


class NoteViewSet(ScopedModelViewSet):
    queryset = Note.objects.all()
    serializer_class = NoteSerializer


router = routers.SimpleRouter()
router.register("notes", NoteViewSet, basename="note")
