"""A backend whose client died (a worker killed mid-task) notices within two
seconds even while it waits on a lock, and rolls back, releasing its locks:
the task redelivered to another worker process is not refused by the dead
one's advisory lock. Set on the database (its owner runs migrations); where
the migrating role may not, it is skipped with a notice (set it on the
runtime role instead: README, "Reliability")."""

from django.db import migrations

FORWARD = """
DO $$
BEGIN
    EXECUTE format(
        'ALTER DATABASE %I SET client_connection_check_interval = %L',
        current_database(), '2s'
    );
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'client_connection_check_interval not set: the migrating role does not own the database';
END
$$;
"""

BACKWARD = """
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I RESET client_connection_check_interval', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'client_connection_check_interval left as it was';
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("spm", "0007_outbox_schedule_claims")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
