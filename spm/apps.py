from django.apps import AppConfig


class SpmConfig(AppConfig):
    name = "spm"
    verbose_name = "SPM core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from spm import security  # noqa: F401 (connects the lockout audit receiver)
        from spm.api.fields import model_serializers_use_project_fields

        model_serializers_use_project_fields()
