"""Register the KPI recomputes with django-celery-beat's database scheduler
(editable afterwards in the admin under Periodic tasks): a full recompute of
every tenant nightly, and the dirty periods of every tenant every 5 minutes."""

from django.db import migrations

NIGHTLY = "Recompute all KPIs (nightly)"
INCREMENTAL = "Recompute changed KPI periods"


def add_schedule(apps, schema_editor):
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    db = schema_editor.connection.alias
    nightly, _ = crontab_model.objects.using(db).get_or_create(
        minute="45", hour="2", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    every_five, _ = interval_model.objects.using(db).get_or_create(every=5, period="minutes")
    task_model.objects.using(db).get_or_create(
        name=NIGHTLY, defaults={"task": "kpis.tasks.kpis_nightly", "crontab": nightly}
    )
    task_model.objects.using(db).get_or_create(
        name=INCREMENTAL, defaults={"task": "kpis.tasks.kpis_incremental", "interval": every_five}
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.using(
        schema_editor.connection.alias
    ).filter(name__in=[NIGHTLY, INCREMENTAL]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("kpis", "0002_rls"),
        ("spm", "0003_beat_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(add_schedule, remove_schedule)]
