from django.apps import AppConfig

from spm.permissions import ALL_ROLES


class KpisConfig(AppConfig):
    name = "kpis"
    verbose_name = "KPIs, dashboards and leaderboards"
    default_auto_field = "django.db.models.BigAutoField"
    # (label, url name, roles) entries for the main navigation, see spm.nav
    nav = [
        ("Dashboard", "kpis:dashboard", ALL_ROLES),
        ("Leaderboards", "kpis:leaderboards", ALL_ROLES),
        ("Forecast", "kpis:forecast", ALL_ROLES),
    ]

    def ready(self) -> None:
        # Subscribes the KPI receiver to the domain events (spm.events).
        from kpis import receivers  # noqa: F401
