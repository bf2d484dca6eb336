from django.db import migrations

APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION privacy_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER privacy_auditentry_append_only
    BEFORE UPDATE OR DELETE ON privacy_auditentry
    FOR EACH ROW EXECUTE FUNCTION privacy_refuse_change();
"""

DROP_APPEND_ONLY_SQL = """
DROP TRIGGER IF EXISTS privacy_auditentry_append_only ON privacy_auditentry;
DROP FUNCTION IF EXISTS privacy_refuse_change();
"""


def create_roles(apps, schema_editor):
    from privacy.roles import roles_sync

    roles_sync(
        group_model=apps.get_model("auth", "Group"),
        permission_model=apps.get_model("auth", "Permission"),
    )


def schedule_nightly_jobs(apps, schema_editor):
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    nightly, _created = crontab_model.objects.get_or_create(
        minute="15", hour="3", day_of_week="*", day_of_month="*", month_of_year="*",
        timezone="UTC",
    )
    task_model.objects.get_or_create(
        name="Purge expired staff sessions",
        defaults={"task": "privacy.sessions_purge_expired_task", "crontab": nightly},
    )


def unschedule_nightly_jobs(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        task="privacy.sessions_purge_expired_task"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunSQL(APPEND_ONLY_SQL, DROP_APPEND_ONLY_SQL),
        migrations.RunPython(create_roles, migrations.RunPython.noop),
        migrations.RunPython(schedule_nightly_jobs, unschedule_nightly_jobs),
    ]
