"""Register the nightly refresh of commission previews with django-celery-beat."""

from django.db import migrations

from spm.schedules import Schedule, schedules_ensure

SCHEDULES = [
    Schedule(
        name="Refresh commission previews",
        task="incentives.tasks.calc_run_previews_nightly",
        crontab={"minute": "40", "hour": "3"},
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
        ("incentives", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(add_schedule, remove_schedule)]
