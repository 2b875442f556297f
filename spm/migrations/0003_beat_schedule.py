"""Register the core's periodic tasks with django-celery-beat's database scheduler
(editable afterwards in the admin under Periodic tasks)."""

from django.db import migrations

from spm.schedules import CORE_SCHEDULES, schedules_ensure


def add_schedule(apps, schema_editor):
    schedules_ensure(CORE_SCHEDULES, models=apps, using=schema_editor.connection.alias)


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.using(
        schema_editor.connection.alias
    ).filter(name__in=[s.name for s in CORE_SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("spm", "0002_rls"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(add_schedule, remove_schedule)]
