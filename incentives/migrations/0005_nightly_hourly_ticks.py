"""The nightly commission preview refresh ticks hourly and runs once per tenant and local
night (spm.schedules.nightly_tenants): no night skipped or doubled by a
daylight-saving change, none doubled by a second beat process."""

from django.db import migrations

from spm.schedules import schedule_crontab_set

NIGHTLY = "Refresh commission previews"


def hourly(apps, schema_editor):
    schedule_crontab_set(
        NIGHTLY, {"minute": "40"}, models=apps, using=schema_editor.connection.alias
    )


def nightly(apps, schema_editor):
    schedule_crontab_set(
        NIGHTLY, {"minute": "40", "hour": "3"}, models=apps, using=schema_editor.connection.alias
    )


class Migration(migrations.Migration):
    dependencies = [
        ("incentives", "0004_trust"),
        ("spm", "0007_outbox_schedule_claims"),
    ]

    operations = [migrations.RunPython(hourly, nightly)]
