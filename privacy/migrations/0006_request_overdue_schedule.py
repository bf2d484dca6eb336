from django.db import migrations

TASK = "privacy.requests_overdue_alert_task"


def schedule(apps, schema_editor):
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    morning, _created = crontab_model.objects.get_or_create(
        minute="0",
        hour="7",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="UTC",
    )
    task_model.objects.get_or_create(
        name="Remind data stewards of privacy requests due soon",
        defaults={"task": TASK, "crontab": morning},
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=TASK).delete()


class Migration(migrations.Migration):
    dependencies = [("privacy", "0005_retention_defaults")]

    operations = [migrations.RunPython(schedule, unschedule)]
