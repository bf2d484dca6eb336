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


# The roles as they were defined when this migration was written; the roles of today are
# synced after every migrate (``privacy.core.roles.roles_sync_after_migrate``).
_DOMAIN_APPS = ("customers", "segments", "campaigns", "privacy")
_ROLE_PERMISSIONS = {
    "Administrator": [(app, "") for app in _DOMAIN_APPS]
    + [("auth", ""), ("authtoken", ""), ("django_celery_beat", ""), ("axes", "")],
    "Data steward": [
        ("privacy", ""),
        ("customers", "view_"),
        ("customers", "change_"),
        ("segments", "view_"),
        ("campaigns", "view_"),
    ],
    "Marketer": [
        ("customers", "view_"),
        ("customers", "add_"),
        ("customers", "change_"),
        ("segments", ""),
        ("campaigns", ""),
    ],
    "Analyst": [
        ("customers", "view_"),
        ("segments", "view_"),
        ("campaigns", "view_"),
    ],
}
_RESTRICTED = {"view_personal_data", "export_personal_data", "delete_auditentry", "change_auditentry"}
_EXPLICIT = {
    "Administrator": ["privacy.view_personal_data", "privacy.export_personal_data"],
    "Data steward": ["privacy.view_personal_data", "privacy.export_personal_data"],
    "Marketer": [],
    "Analyst": [],
}


def create_roles(apps, schema_editor):
    from django.db.models import Q

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for role, grants in _ROLE_PERMISSIONS.items():
        condition = Q(pk__in=[])
        for app_label, prefix in grants:
            condition |= Q(content_type__app_label=app_label, codename__startswith=prefix)
        explicit = Q(pk__in=[])
        for label in _EXPLICIT[role]:
            app_label, codename = label.split(".")
            explicit |= Q(content_type__app_label=app_label, codename=codename)
        group, _created = group_model.objects.get_or_create(name=role)
        group.permissions.set(
            permission_model.objects.filter((condition & ~Q(codename__in=_RESTRICTED)) | explicit)
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
