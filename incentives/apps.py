from django.apps import AppConfig

from spm.permissions import ALL_ROLES


class IncentivesConfig(AppConfig):
    name = "incentives"
    verbose_name = "Incentives: comp plans, calculation runs, statements"
    default_auto_field = "django.db.models.BigAutoField"
    # (label, url name, roles) entries for the main navigation, see spm.nav; the
    # pillar's pages are tabs of one sub-navigation (templates/incentives/_subnav.html)
    nav = [("Commission", "incentives:home", ALL_ROLES)]

    def ready(self) -> None:
        # Subscribes the late-change receiver to the domain events (spm.events).
        from incentives import receivers  # noqa: F401
