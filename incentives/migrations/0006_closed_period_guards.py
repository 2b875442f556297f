"""A closed period's ledger is refused by the database itself: statements,
statement lines and adjustments of a closed period cannot be inserted,
updated or deleted, whatever the application does (the API, the ORM's bulk
update(), raw SQL as the runtime role). The refusal is a check_violation whose
message names the closed period; the API answers it 409 (spm.api.errors)."""

from django.db import migrations

GUARDED = ["incentives_statement", "incentives_statementline", "incentives_adjustment"]

GUARD_FUNCTION = """
CREATE FUNCTION incentives_closed_period_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND EXISTS (
        SELECT 1 FROM spm_fiscalperiod p
        WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.period_id AND p.is_closed
    ) THEN
        RAISE EXCEPTION '% of a closed period are never changed (period %)',
            TG_TABLE_NAME, OLD.period_id USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND EXISTS (
        SELECT 1 FROM spm_fiscalperiod p
        WHERE p.tenant_id = NEW.tenant_id AND p.id = NEW.period_id AND p.is_closed
    ) THEN
        RAISE EXCEPTION '% of a closed period are never written (period %)',
            TG_TABLE_NAME, NEW.period_id USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;
"""

FORWARD = (
    GUARD_FUNCTION
    + """
DROP TRIGGER IF EXISTS incentives_statementline_closed ON incentives_statementline;
DROP FUNCTION IF EXISTS incentives_statementline_guard();
"""
    + "".join(
        f"""
CREATE TRIGGER {table}_closed_period BEFORE INSERT OR UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION incentives_closed_period_guard();
"""
        for table in GUARDED
    )
)

BACKWARD = "".join(
    f"DROP TRIGGER IF EXISTS {table}_closed_period ON {table};\n" for table in GUARDED
) + """
DROP FUNCTION IF EXISTS incentives_closed_period_guard();
CREATE FUNCTION incentives_statementline_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM spm_fiscalperiod p
               WHERE p.tenant_id = OLD.tenant_id AND p.id = OLD.period_id AND p.is_closed) THEN
        RAISE EXCEPTION 'statement lines of a closed period are never changed (period %)',
            OLD.period_id USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER incentives_statementline_closed
    BEFORE UPDATE OR DELETE ON incentives_statementline
    FOR EACH ROW EXECUTE FUNCTION incentives_statementline_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("incentives", "0005_nightly_hourly_ticks")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
