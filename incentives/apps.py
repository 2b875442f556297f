from django.apps import AppConfig


class IncentivesConfig(AppConfig):
    name = "incentives"
    verbose_name = "Incentives: comp plans, calculation runs, statements"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Subscribes the late-change receiver to the domain events (spm.events).
        from incentives import receivers  # noqa: F401
