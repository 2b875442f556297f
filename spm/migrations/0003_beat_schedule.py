"""Register the core's periodic tasks with django-celery-beat's database scheduler
(editable afterwards in the admin under Periodic tasks)."""

from django.db import migrations


def add_schedule(apps, schema_editor):
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    db = schema_editor.connection.alias
    nightly, _ = crontab_model.objects.using(db).get_or_create(
        minute="15", hour="2", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    task_model.objects.using(db).get_or_create(
        name="Roll fiscal periods forward",
        defaults={"task": "spm.tasks.periods_roll_forward", "crontab": nightly},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.using(
        schema_editor.connection.alias
    ).filter(name="Roll fiscal periods forward").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("spm", "0002_rls"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(add_schedule, remove_schedule)]
