from django.apps import AppConfig

from spm.permissions import ALL_ROLES


class CoachingConfig(AppConfig):
    name = "coaching"
    verbose_name = "Coaching: 1:1s, action items, skills, reviews, recognition"
    default_auto_field = "django.db.models.BigAutoField"
    # (label, url name, roles) entries for the main navigation, see spm.nav
    nav = [("Coaching", "coaching:home", ALL_ROLES)]

    def ready(self) -> None:
        # Subscribes the milestone receiver to the domain events (spm.events).
        from coaching import receivers  # noqa: F401
