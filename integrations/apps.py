from django.apps import AppConfig

from spm.permissions import ADMIN


class IntegrationsConfig(AppConfig):
    """The integration platform: what connects a tenant's SPM to the rest of its
    stack (webhooks, API tokens, audit trail, single sign-on). It sits above the
    pillars and may import every one of them; no pillar imports it."""

    name = "integrations"
    verbose_name = "Integrations: webhooks, API tokens, audit trail, single sign-on"
    default_auto_field = "django.db.models.BigAutoField"
    # (label, url name, roles) entries for the main navigation, see spm.nav
    nav = [("Integrations", "integrations:token-list", ADMIN)]

    def ready(self) -> None:
        # Plugs the token and idempotency stores into the API's core hooks (spm.api), and
        # subscribes the webhook dispatch to the domain events (spm.events).
        from integrations import hooks, receivers  # noqa: F401

        hooks.install()
