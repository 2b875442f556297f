from django.apps import AppConfig


class SpmConfig(AppConfig):
    name = "spm"
    verbose_name = "SPM core"
    default_auto_field = "django.db.models.BigAutoField"
