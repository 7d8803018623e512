from django.apps import AppConfig


class LsApertureDBConfig(AppConfig):
    name = "ls_aperturedb"
    verbose_name = "ApertureDB storage"
    default_auto_field = "django.db.models.AutoField"

    def ready(self):
        # Signals are wiring only; the logic lives in exporter.py.
        from ls_aperturedb import signals  # noqa: F401
