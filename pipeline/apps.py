from django.apps import AppConfig

from spm.permissions import ALL_ROLES


class PipelineConfig(AppConfig):
    name = "pipeline"
    verbose_name = "Pipeline and funnel"
    default_auto_field = "django.db.models.BigAutoField"
    # (label, url name, roles) entries for the main navigation, see spm.nav
    nav = [("Pipeline", "pipeline:board", ALL_ROLES)]

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from pipeline.forecast import receivers  # noqa: F401
        from pipeline.signals import tenant_created
        from spm.models import Tenant

        # The core (a lower app) tells us a tenant exists; we give it the default pipeline.
        post_save.connect(tenant_created, sender=Tenant, dispatch_uid="pipeline.tenant_created")
