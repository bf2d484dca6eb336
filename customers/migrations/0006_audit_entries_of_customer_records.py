# Audit entries about the customers app's records belong to the team that owns the record.
#
# The privacy core's migration gave existing entries the team of their object when it is one of
# the core's, else of the account they are about; here the team of a customer record replaces
# that, as audit_record decides for new entries. Entries about records deleted since keep what
# they have. See that migration for how the append-only log lets this one UPDATE through.
#
# The statements are written out here as they ran rather than built by functions of the privacy
# migration, so that no later change to other code can change what this migration did.

from django.db import migrations

_LIFT = 'ALTER TABLE "privacy_auditentry" DISABLE TRIGGER "privacy_auditentry_append_only"'
_RESTORE = 'ALTER TABLE "privacy_auditentry" ENABLE TRIGGER "privacy_auditentry_append_only"'
_UPDATE = (
    'UPDATE "privacy_auditentry" AS entry SET team_id = owner.team_id FROM ('
    "SELECT object.id::text AS object_id, {team} AS team_id "
    "FROM {table} AS object {joins}) AS owner "
    "WHERE entry.object_type = %s AND entry.object_id = owner.object_id "
    "AND entry.team_id IS DISTINCT FROM owner.team_id"
)
# (object type, its table, the column of its team, the join that reaches it)
_OWNERS = (
    ("customers.customer", '"customers_customer"', "object.owner_team_id", ""),
    ("customers.identity", '"customers_identity"', "object.owner_team_id", ""),
    ("customers.event", '"customers_event"', "object.owner_team_id", ""),
    ("customers.purchase", '"customers_purchase"', "object.owner_team_id", ""),
    ("customers.importjob", '"customers_importjob"', "object.owner_team_id", ""),
    ("customers.importtemplate", '"customers_importtemplate"', "object.owner_team_id", ""),
    ("customers.duplicatecandidate", '"customers_duplicatecandidate"', "object.owner_team_id", ""),
    (
        "customers.mergerecord",
        '"customers_mergerecord"',
        "survivor.owner_team_id",
        'JOIN "customers_customer" AS survivor ON survivor.id = object.survivor_id',
    ),
    (
        "customers.importrow",
        '"customers_importrow"',
        "job.owner_team_id",
        'JOIN "customers_importjob" AS job ON job.id = object.job_id',
    ),
)


def backfill(apps, schema_editor):
    # The append-only trigger is lifted inside this migration's transaction only (see 0009 of
    # the privacy app); should a statement fail, the transaction rolls back with its state.
    schema_editor.execute(_LIFT)
    for object_type, table, team, joins in _OWNERS:
        schema_editor.execute(_UPDATE.format(team=team, table=table, joins=joins), [object_type])
    schema_editor.execute(_RESTORE)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0005_purchase_kept_for_accounting"),
        ("privacy", "0009_auditentry_team"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
