from django.apps import AppConfig

from spm.permissions import ALL_ROLES


class PipelineConfig(AppConfig):
    name = "pipeline"
    verbose_name = "Pipeline and funnel"
    default_auto_field = "django.db.models.BigAutoField"
    # (label, url name, roles) entries for the main navigation, see spm.nav
    nav = [("Pipeline", "pipeline:board", ALL_ROLES)]
