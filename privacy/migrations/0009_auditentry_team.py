# Audit entries belong to a team, so data stewards read only their teams' entries.
#
# New entries get their team from audit_record. Existing ones are filled in here as best the
# rows allow: the team of the object (a team, or a record of the privacy core that a team owns;
# the customers app fills in its own objects in a migration of its own), else the only team of
# the account the entry is about (the account that is its object, else its actor). What is left
# without a team (system jobs, staff of several teams, objects since deleted) only
# administrators read.
#
# The audit log is append-only: a trigger refuses every UPDATE. The back-fill disables that
# trigger inside the migration's transaction only. ALTER TABLE holds a lock that keeps every
# other session off the table until the migration commits, and the trigger is enabled again
# before then, so no other session ever writes to the log, or reads it, without the trigger.
# It needs the table's owner, which is who runs migrations (the app's role cannot).

import contextlib

import django.db.models.deletion
from django.db import migrations, models

AUDIT_TABLE = "privacy_auditentry"
APPEND_ONLY_TRIGGER = "privacy_auditentry_append_only"


@contextlib.contextmanager
def append_only_lifted(schema_editor):
    """Let this transaction UPDATE the audit log (see the module's comment). Should a statement
    fail in between, the migration's transaction rolls back, and the trigger's state with it."""
    quote = schema_editor.quote_name
    schema_editor.execute(
        f"ALTER TABLE {quote(AUDIT_TABLE)} DISABLE TRIGGER {quote(APPEND_ONLY_TRIGGER)}"
    )
    yield
    schema_editor.execute(
        f"ALTER TABLE {quote(AUDIT_TABLE)} ENABLE TRIGGER {quote(APPEND_ONLY_TRIGGER)}"
    )


def owners_backfill(schema_editor, owners: dict[str, str], *, only_empty: bool) -> None:
    """Set the team of entries about each object type to the team that owns the object.

    ``owners`` maps an object type (``privacy.datasubjectrequest``) to a query of its objects'
    ids as text and their teams: ``SELECT id::text AS object_id, owner_team_id AS team_id ...``.
    With ``only_empty``, entries that already have a team keep it; otherwise the object's team
    replaces the team of an account that an earlier step may have set.
    """
    keep = "entry.team_id IS NULL" if only_empty else "entry.team_id IS DISTINCT FROM owner.team_id"
    for object_type, query in owners.items():
        schema_editor.execute(
            f"UPDATE {schema_editor.quote_name(AUDIT_TABLE)} AS entry "  # noqa: S608
            f"SET team_id = owner.team_id FROM ({query}) AS owner "
            f"WHERE entry.object_type = %s AND entry.object_id = owner.object_id AND {keep}",
            [object_type],
        )


def owners_sql(
    schema_editor, model, *, team_column: str = "object.owner_team_id", joins: str = ""
) -> str:
    """The query ``owners_backfill`` wants for ``model``: its objects' ids and teams."""
    return (
        f"SELECT object.id::text AS object_id, {team_column} AS team_id "  # noqa: S608
        f"FROM {schema_editor.quote_name(model._meta.db_table)} AS object {joins}"
    )


def backfill(apps, schema_editor):
    quote = schema_editor.quote_name
    team = apps.get_model("privacy", "Team")
    webhook = apps.get_model("privacy", "ErasureWebhook")
    owners = {
        "privacy.team": owners_sql(schema_editor, team, team_column="object.id"),
        **{
            f"privacy.{name}": owners_sql(schema_editor, apps.get_model("privacy", name))
            for name in ("datasubjectrequest", "erasurewebhook", "consentevent")
        },
        "privacy.erasurenotification": owners_sql(
            schema_editor,
            apps.get_model("privacy", "ErasureNotification"),
            team_column="webhook.owner_team_id",
            joins=f"JOIN {quote(webhook._meta.db_table)} AS webhook "
            "ON webhook.id = object.webhook_id",
        ),
    }
    memberships = apps.get_model("auth", "User").groups.through._meta.db_table
    with append_only_lifted(schema_editor):
        owners_backfill(schema_editor, owners, only_empty=True)
        schema_editor.execute(
            f"UPDATE {quote(AUDIT_TABLE)} AS entry SET team_id = account.team_id "  # noqa: S608
            "FROM ("
            "SELECT membership.user_id, min(team.id) AS team_id "
            f"FROM {quote(memberships)} AS membership "
            f"JOIN {quote(team._meta.db_table)} AS team ON team.group_id = membership.group_id "
            "GROUP BY membership.user_id HAVING count(*) = 1"
            ") AS account "
            "WHERE entry.team_id IS NULL AND account.user_id = CASE "
            "WHEN entry.object_type = 'auth.user' AND entry.object_id ~ '^[0-9]{1,18}$' "
            "THEN entry.object_id::bigint ELSE entry.actor_id END"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0008_api_tokens"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="team",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="privacy.team",
                verbose_name="team",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
