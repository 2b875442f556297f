"""The closed-period guard checks a whole statement at once.

The row guard of 0006 ran a query per row: a calculation run writing 60,000
lines paid 60,000 look-ups of the same period. The same refusal now runs once
per INSERT, UPDATE or DELETE statement over its transition tables (every row
the statement wrote or removed), after the rows and before the statement
returns: a statement touching a closed period's ledger is refused whole, with
the same check_violation naming the period. PostgreSQL allows transition
tables for one event per trigger, hence three triggers on each table."""

from django.db import migrations

GUARDED = ["incentives_statement", "incentives_statementline", "incentives_adjustment"]

GUARD_FUNCTION = """
CREATE OR REPLACE FUNCTION incentives_closed_period_rows_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    closed bigint;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT r.period_id INTO closed FROM old_rows r
        JOIN spm_fiscalperiod p ON p.tenant_id = r.tenant_id AND p.id = r.period_id
        WHERE p.is_closed LIMIT 1;
        IF closed IS NOT NULL THEN
            RAISE EXCEPTION '% of a closed period are never changed (period %)',
                TG_TABLE_NAME, closed USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT r.period_id INTO closed FROM new_rows r
        JOIN spm_fiscalperiod p ON p.tenant_id = r.tenant_id AND p.id = r.period_id
        WHERE p.is_closed LIMIT 1;
        IF closed IS NOT NULL THEN
            RAISE EXCEPTION '% of a closed period are never written (period %)',
                TG_TABLE_NAME, closed USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NULL;
END
$$;
"""


def _triggers(table: str) -> str:
    return f"""
DROP TRIGGER IF EXISTS {table}_closed_period ON {table};
CREATE TRIGGER {table}_closed_insert AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION incentives_closed_period_rows_guard();
CREATE TRIGGER {table}_closed_update AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION incentives_closed_period_rows_guard();
CREATE TRIGGER {table}_closed_delete AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION incentives_closed_period_rows_guard();
"""


FORWARD = GUARD_FUNCTION + "".join(_triggers(table) for table in GUARDED)

BACKWARD = (
    "".join(
        f"""
DROP TRIGGER IF EXISTS {table}_closed_insert ON {table};
DROP TRIGGER IF EXISTS {table}_closed_update ON {table};
DROP TRIGGER IF EXISTS {table}_closed_delete ON {table};
CREATE TRIGGER {table}_closed_period BEFORE INSERT OR UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION incentives_closed_period_guard();
"""
        for table in GUARDED
    )
    + "DROP FUNCTION IF EXISTS incentives_closed_period_rows_guard();\n"
)


class Migration(migrations.Migration):
    dependencies = [("incentives", "0006_closed_period_guards")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
