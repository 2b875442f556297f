"""Register the core's periodic tasks with django-celery-beat's database scheduler
(editable afterwards in the admin under Periodic tasks)."""

from django.db import migrations

from spm.schedules import CORE_SCHEDULES, schedules_migration


class Migration(migrations.Migration):
    dependencies = [
        ("spm", "0002_rls"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [schedules_migration(CORE_SCHEDULES)]
