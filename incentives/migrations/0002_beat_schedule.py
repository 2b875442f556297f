"""Register the nightly refresh of commission previews with django-celery-beat."""

from django.db import migrations

from spm.schedules import Schedule, schedules_migration

SCHEDULES = [
    Schedule(
        name="Refresh commission previews",
        task="incentives.tasks.calc_run_previews_nightly",
        crontab={"minute": "40", "hour": "3"},
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("incentives", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [schedules_migration(SCHEDULES)]
