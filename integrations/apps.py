from django.apps import AppConfig

from spm.permissions import ADMIN, FINANCE


class IntegrationsConfig(AppConfig):
    """The integration platform: what connects a tenant's SPM to the rest of its
    stack (webhooks, API tokens, audit trail, single sign-on). It sits above the
    pillars and may import every one of them; no pillar imports it."""

    name = "integrations"
    verbose_name = "Integrations: webhooks, API tokens, audit trail, single sign-on"
    default_auto_field = "django.db.models.BigAutoField"
    # (label, url name, roles) entries for the main navigation, see spm.nav. Admins
    # reach the audit trail from the Integrations sub-navigation; finance, who sees no
    # other integration page, from an entry of its own.
    nav = [
        ("Integrations", "integrations:token-list", ADMIN),
        ("Audit trail", "integrations:audit", FINANCE),
    ]

    def ready(self) -> None:
        # Plugs the token and idempotency stores into the API's core hooks (spm.api), and
        # subscribes the webhook dispatch to the domain events (spm.events); the audit
        # trail's context enters every Celery task (integrations.audit.context).
        from integrations import hooks, receivers  # noqa: F401
        from integrations.audit import context  # noqa: F401

        hooks.install()
