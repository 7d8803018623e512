from django.apps import AppConfig


class LsApertureDBConfig(AppConfig):
    name = "ls_aperturedb"
    verbose_name = "ApertureDB storage"
    default_auto_field = "django.db.models.AutoField"

    def ready(self):
        # Signals are wiring only; the logic lives in exporter.py.
        from ls_aperturedb import signals  # noqa: F401
        # Bind shared tasks to the plugin's Celery app (its broker) in every process, not only workers.
        from ls_aperturedb.celery import app  # noqa: F401
        # The Data Manager's "Import similar from ApertureDB" (Label Studio's own action registry).
        from ls_aperturedb.actions import register

        register()
