from django.db import migrations

# (name in the admin, task, minute): both nightly at 02:xx UTC, before the 03:15 privacy jobs.
NIGHTLY_JOBS = (
    ("Enrich customers (derived metrics, RFM)", "customers.customers_enrich_task", "0"),
    ("Find possible duplicate customers", "customers.duplicates_find_task", "30"),
)


def schedule_nightly_jobs(apps, schema_editor):
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, minute in NIGHTLY_JOBS:
        crontab, _created = crontab_model.objects.get_or_create(
            minute=minute,
            hour="2",
            day_of_week="*",
            day_of_month="*",
            month_of_year="*",
            timezone="UTC",
        )
        task_model.objects.get_or_create(name=name, defaults={"task": task, "crontab": crontab})


def unschedule_nightly_jobs(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        task__in=[task for _name, task, _minute in NIGHTLY_JOBS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule_nightly_jobs, unschedule_nightly_jobs)]
