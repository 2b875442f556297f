from django.db import migrations

from spm.db.rls import USER_EXPR, EnableRLS


class Migration(migrations.Migration):
    dependencies = [("spm", "0001_initial")]

    operations = [
        # A user may read their own memberships in every tenant (tenant switcher); writes
        # still need the row's tenant in context.
        EnableRLS("spm_membership", extra_using=f"user_id = {USER_EXPR}"),
        EnableRLS("spm_team"),
        EnableRLS("spm_fiscalperiod"),
        EnableRLS("spm_taskrun"),
        EnableRLS("spm_auditevent"),
    ]
