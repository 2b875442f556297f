from django.apps import AppConfig


class IncentivesConfig(AppConfig):
    name = "incentives"
    verbose_name = "Incentives: comp plans, calculation runs, statements"
    default_auto_field = "django.db.models.BigAutoField"
