"""Register the daily coaching run (1:1 reminders, agendas, milestones) with django-celery-beat."""

from django.db import migrations

from spm.schedules import Schedule, schedules_ensure

SCHEDULES = [
    Schedule(
        name="Coaching: 1:1 reminders, agendas, milestones",
        task="coaching.tasks.coaching_daily",
        crontab={"minute": "0", "hour": "7"},
    ),
]


def add_schedule(apps, schema_editor):
    schedules_ensure(SCHEDULES, models=apps, using=schema_editor.connection.alias)


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.using(
        schema_editor.connection.alias
    ).filter(name__in=[s.name for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("coaching", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(add_schedule, remove_schedule)]
