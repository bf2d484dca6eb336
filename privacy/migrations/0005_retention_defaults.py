"""Default retention policies, the nightly purge schedule, and audit entries that only the
retention purge may delete.

The audit log stays append-only: UPDATE is always refused. DELETE passes only in a transaction
that ran ``SET LOCAL marketbase.retention = 'on'`` and only for entries older than the active
``audit_entries`` policy, which the trigger reads itself; so even with the flag, recent entries
cannot be deleted without first shortening the policy, which is audited. The guard is a
function of its own: ``privacy_refuse_change()`` stays what its name says for any table that
uses it.

The app's database role holds no DELETE right on the audit log (``manage.py db_grants``), so
the purge goes through ``privacy_audit_entries_purge``, a SECURITY DEFINER function owned by the
tables' owner: it deletes one batch of entries past the policy, with the flag set, and can do
nothing else. ``db_grants`` gives the app role EXECUTE on it; PUBLIC has none.
"""

from django.db import migrations

# Values of the day this migration was written; staff change them in the UI or the admin.
DEFAULT_POLICIES = (
    ("events", 730),
    ("inactive_customers", 1095),
    ("import_files", 90),
    ("export_packages", 30),
    ("audit_entries", 1825),
)
PURGE_TASK = "privacy.retention_purge_task"

AUDIT_GUARD_SQL = """
CREATE OR REPLACE FUNCTION privacy_audit_entry_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE'
        AND current_setting('marketbase.retention', true) = 'on'
        AND OLD.occurred_at < now() - (
            SELECT make_interval(days => policy.retain_days)
            FROM privacy_retentionpolicy AS policy
            WHERE policy.category = 'audit_entries' AND policy.is_active
        )
    THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'privacy_auditentry is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
DROP TRIGGER IF EXISTS privacy_auditentry_append_only ON privacy_auditentry;
CREATE TRIGGER privacy_auditentry_append_only
    BEFORE UPDATE OR DELETE ON privacy_auditentry
    FOR EACH ROW EXECUTE FUNCTION privacy_audit_entry_guard();

CREATE OR REPLACE FUNCTION privacy_audit_entries_purge(
    cutoff timestamptz, after_id bigint, batch_limit integer,
    OUT deleted bigint, OUT selected bigint, OUT last_id bigint
)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM set_config('marketbase.retention', 'on', true);
    WITH batch AS (
        SELECT id, ctid FROM privacy_auditentry
        WHERE id > after_id AND occurred_at < cutoff
            AND occurred_at < now() - (
                SELECT make_interval(days => policy.retain_days)
                FROM privacy_retentionpolicy AS policy
                WHERE policy.category = 'audit_entries' AND policy.is_active
            )
        ORDER BY id LIMIT batch_limit
    ), gone AS (
        DELETE FROM privacy_auditentry WHERE ctid = ANY(ARRAY(SELECT ctid FROM batch)) RETURNING 1
    )
    SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM batch), (SELECT max(id) FROM batch)
    INTO deleted, selected, last_id;
    PERFORM set_config('marketbase.retention', 'off', true);
END;
$$;
REVOKE ALL ON FUNCTION privacy_audit_entries_purge(timestamptz, bigint, integer) FROM PUBLIC;
"""

# Back to 0002's trigger, which refuses every UPDATE and DELETE.
DROP_AUDIT_GUARD_SQL = """
DROP TRIGGER IF EXISTS privacy_auditentry_append_only ON privacy_auditentry;
CREATE TRIGGER privacy_auditentry_append_only
    BEFORE UPDATE OR DELETE ON privacy_auditentry
    FOR EACH ROW EXECUTE FUNCTION privacy_refuse_change();
DROP FUNCTION IF EXISTS privacy_audit_entry_guard();
DROP FUNCTION IF EXISTS privacy_audit_entries_purge(timestamptz, bigint, integer);
"""


def create_default_policies(apps, schema_editor):
    policy_model = apps.get_model("privacy", "RetentionPolicy")
    for category, retain_days in DEFAULT_POLICIES:
        policy_model.objects.get_or_create(
            category=category, defaults={"retain_days": retain_days, "is_active": True}
        )


def delete_default_policies(apps, schema_editor):
    apps.get_model("privacy", "RetentionPolicy").objects.filter(
        category__in=[category for category, _days in DEFAULT_POLICIES]
    ).delete()


def schedule_nightly_purge(apps, schema_editor):
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    # After the sessions purge (03:15); a quiet hour for the deletes.
    nightly, _created = crontab_model.objects.get_or_create(
        minute="45", hour="3", day_of_week="*", day_of_month="*", month_of_year="*",
        timezone="UTC",
    )
    task_model.objects.get_or_create(
        name="Purge data past its retention period",
        defaults={"task": PURGE_TASK, "crontab": nightly},
    )


def unschedule_nightly_purge(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=PURGE_TASK).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0004_requests_retention_webhooks"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(create_default_policies, delete_default_policies),
        migrations.RunPython(schedule_nightly_purge, unschedule_nightly_purge),
        migrations.RunSQL(AUDIT_GUARD_SQL, DROP_AUDIT_GUARD_SQL),
    ]
