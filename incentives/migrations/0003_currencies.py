"""Payout currencies: the assignment's payout currency, the statement's
currency, and on each line its amount in the tenant's currency and the rate
it was converted at. Existing statements are in the tenant's currency, so
their lines keep their amount as the base at rate 1 (the closed periods'
line guard is set aside for that one backfill)."""

from decimal import Decimal

import django.core.validators
from django.db import migrations, models

BACKFILL = """
UPDATE incentives_statement s SET currency = t.currency
FROM spm_tenant t WHERE t.id = s.tenant_id;
ALTER TABLE incentives_statementline DISABLE TRIGGER incentives_statementline_closed;
UPDATE incentives_statementline SET base_amount = amount;
ALTER TABLE incentives_statementline ENABLE TRIGGER incentives_statementline_closed;
"""

CURRENCY = django.core.validators.RegexValidator(
    "^[A-Z]{3}$", "Use a three-letter ISO 4217 code, e.g. USD."
)


class Migration(migrations.Migration):
    dependencies = [
        ("incentives", "0002_beat_schedule"),
    ]

    operations = [
        migrations.AddField(
            model_name="assignment",
            name="payout_currency",
            field=models.CharField(
                blank=True,
                help_text="ISO 4217 code the member is paid in; blank: the tenant's currency",
                max_length=3,
                validators=[CURRENCY],
            ),
        ),
        migrations.AddField(
            model_name="statement",
            name="currency",
            field=models.CharField(default="", max_length=3, validators=[CURRENCY]),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="statementline",
            name="base_amount",
            field=models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=18),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="statementline",
            name="fx_rate",
            field=models.DecimalField(decimal_places=6, default=Decimal("1"), max_digits=9),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
