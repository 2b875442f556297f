"""The nightly KPI recompute ticks hourly and runs once per tenant and local
night (spm.schedules.nightly_tenants): no night skipped or doubled by a
daylight-saving change, none doubled by a second beat process."""

from django.db import migrations

from spm.schedules import schedule_crontab_set

NIGHTLY = "Recompute all KPIs (nightly)"


def hourly(apps, schema_editor):
    schedule_crontab_set(
        NIGHTLY, {"minute": "45"}, models=apps, using=schema_editor.connection.alias
    )


def nightly(apps, schema_editor):
    schedule_crontab_set(
        NIGHTLY, {"minute": "45", "hour": "2"}, models=apps, using=schema_editor.connection.alias
    )


class Migration(migrations.Migration):
    dependencies = [
        ("kpis", "0005_tenant_keys"),
        ("spm", "0007_outbox_schedule_claims"),
    ]

    operations = [migrations.RunPython(hourly, nightly)]
