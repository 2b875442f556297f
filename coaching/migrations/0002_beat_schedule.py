"""Register the daily coaching run (1:1 reminders, agendas, milestones) with django-celery-beat."""

from django.db import migrations

from spm.schedules import Schedule, schedules_migration

SCHEDULES = [
    Schedule(
        name="Coaching: 1:1 reminders, agendas, milestones",
        task="coaching.tasks.coaching_daily",
        crontab={"minute": "0", "hour": "7"},
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("coaching", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [schedules_migration(SCHEDULES)]
