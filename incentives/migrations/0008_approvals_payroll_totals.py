"""Approvals keep the decider's answer apart from the requester's note; a
payroll export keeps one total per currency (``totals``) instead of one
figure added across currencies. Existing exports get their totals from their
lines, tenant by tenant (row-level security applies to this migration too)."""

from django.db import migrations, models

BACKFILL = """
UPDATE incentives_payrollexport e SET totals = COALESCE((
    SELECT jsonb_agg(jsonb_build_object('currency', t.currency, 'amount', t.amount::text)
                     ORDER BY t.currency)
    FROM (SELECT l.currency, SUM(l.amount) AS amount FROM incentives_payrollline l
          WHERE l.tenant_id = e.tenant_id AND l.export_id = e.id GROUP BY l.currency) t
), '[]'::jsonb)
"""


def backfill_totals(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id FROM spm_tenant ORDER BY id")
        for (tenant_id,) in cursor.fetchall():
            cursor.execute(f"SET LOCAL app.tenant_id = '{int(tenant_id)}'")
            cursor.execute(BACKFILL)
        cursor.execute("SET LOCAL app.tenant_id = ''")


class Migration(migrations.Migration):
    dependencies = [
        ("incentives", "0007_statement_level_guards"),
    ]

    operations = [
        migrations.AddField(
            model_name="approval",
            name="answer",
            field=models.TextField(blank=True, help_text="The decider's note (required to reject)"),
        ),
        migrations.AlterField(
            model_name="approval",
            name="note",
            field=models.TextField(blank=True, help_text="The requester's note"),
        ),
        migrations.AddField(
            model_name="payrollexport",
            name="totals",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text='One total per currency: [{"currency": "EUR", "amount": "2600.00"}], '
                "by currency code; amounts in different currencies are never added up",
            ),
        ),
        migrations.RunPython(backfill_totals, migrations.RunPython.noop),
        migrations.RemoveField(model_name="payrollexport", name="currency"),
        migrations.RemoveField(model_name="payrollexport", name="total"),
    ]
