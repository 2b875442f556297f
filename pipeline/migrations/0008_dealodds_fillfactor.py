"""Leave half of each page of the deal odds free, so that the nightly run's
update of every open deal's odds (same keys, new figures) stays on the page:
a heap-only update writes no index entry and checks no foreign key."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0007_forecast_schedules")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE pipeline_dealodds SET (fillfactor = 50)",
            "ALTER TABLE pipeline_dealodds RESET (fillfactor)",
        )
    ]
