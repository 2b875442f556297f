"""Register the nightly statistical forecast and the weekly forecast snapshot
with django-celery-beat."""

from django.db import migrations

from spm.schedules import Schedule, schedules_ensure

SCHEDULES = [
    Schedule(
        name="Statistical forecast",
        task="pipeline.tasks.stat_forecast_nightly",
        crontab={"minute": "10", "hour": "3"},
    ),
    Schedule(
        name="Weekly forecast snapshot",
        task="pipeline.tasks.forecast_snapshots_weekly",
        crontab={"minute": "30", "hour": "2", "day_of_week": "1"},
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
        ("pipeline", "0006_forecast_snapshots"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(add_schedule, remove_schedule)]
