# Audit entries about the customers app's records belong to the team that owns the record.
#
# The privacy core's migration gave existing entries the team of their object when it is one of
# the core's, else of the account they are about; here the team of a customer record replaces
# that, as audit_record decides for new entries. Entries about records deleted since keep what
# they have. See that migration for how the append-only log lets this one UPDATE through.

from importlib import import_module

from django.db import migrations

_audit = import_module("privacy.migrations.0009_auditentry_team")


def backfill(apps, schema_editor):
    def model(name):
        return apps.get_model("customers", name)

    customer_table = schema_editor.quote_name(model("Customer")._meta.db_table)
    job_table = schema_editor.quote_name(model("ImportJob")._meta.db_table)
    owners = {
        f"customers.{name.lower()}": _audit.owners_sql(schema_editor, model(name))
        for name in (
            "Customer",
            "Identity",
            "Event",
            "Purchase",
            "ImportJob",
            "ImportTemplate",
            "DuplicateCandidate",
        )
    }
    owners["customers.mergerecord"] = _audit.owners_sql(
        schema_editor,
        model("MergeRecord"),
        team_column="survivor.owner_team_id",
        joins=f"JOIN {customer_table} AS survivor ON survivor.id = object.survivor_id",
    )
    owners["customers.importrow"] = _audit.owners_sql(
        schema_editor,
        model("ImportRow"),
        team_column="job.owner_team_id",
        joins=f"JOIN {job_table} AS job ON job.id = object.job_id",
    )
    with _audit.append_only_lifted(schema_editor):
        _audit.owners_backfill(schema_editor, owners, only_empty=False)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0005_purchase_kept_for_accounting"),
        ("privacy", "0009_auditentry_team"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
