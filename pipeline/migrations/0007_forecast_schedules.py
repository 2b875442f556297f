"""Register the nightly statistical forecast and the weekly forecast snapshot
with django-celery-beat."""

from django.db import migrations

from spm.schedules import Schedule, schedules_migration

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


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline", "0006_forecast_snapshots"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [schedules_migration(SCHEDULES)]
