"""PostgreSQL advisory locks of the customers app, held until the transaction ends."""

from django.db import connection

from privacy.models import Team

# The identity-resolution lock's first key ("MB"); its second is the team's id.
_IDENTITY_NAMESPACE = 0x4D42


def team_identity_lock(team: Team) -> None:
    """Wait for the team's identity-resolution lock and hold it until the transaction ends.

    Identity resolution takes it, so two batches of one team never create one person twice. An
    erasure takes it too: an upsert already running finishes first (and the erasure suppresses
    its identities), one starting later sees the suppression entries. Call it inside a
    transaction; outside one the lock is released at once.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_IDENTITY_NAMESPACE, team.pk])
