from django.apps import AppConfig

from spm.permissions import ALL_ROLES


class GoalsConfig(AppConfig):
    name = "goals"
    verbose_name = "Goals, quotas and objectives"
    default_auto_field = "django.db.models.BigAutoField"
    # (label, url name, roles) entries for the main navigation, see spm.nav
    nav = [("Goals", "goals:home", ALL_ROLES)]
