"""Row Level Security on every KPI table (see spm.db.rls)."""

from django.db import migrations

from spm.db.rls import EnableRLS


class Migration(migrations.Migration):
    dependencies = [
        ("kpis", "0001_initial"),
        ("pipeline", "0001_initial"),
        ("goals", "0001_initial"),
    ]

    operations = [
        EnableRLS("kpis_kpivalue"),
        EnableRLS("kpis_dirtyperiod"),
        EnableRLS("kpis_kpisetting"),
        EnableRLS("kpis_customkpi"),
    ]
