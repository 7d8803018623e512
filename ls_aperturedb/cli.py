"""``ls-aperturedb``: run Label Studio with the plugin, its worker, the emulator, or the whole demo."""
import argparse
import os
import sys

SETTINGS = "ls_aperturedb.settings"


def _label_studio(argv):
    """Label Studio's own ``label-studio`` command, with the plugin's settings; with
    LS_APERTUREDB_PROVISION_* variables set, ``start`` first provisions (see ops/provision.py)."""
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    if os.environ.get("LS_APERTUREDB_PROVISION_PROJECT"):
        from ls_aperturedb.ops.provision import provision_before_start

        provision_before_start()
    from label_studio.server import main as label_studio_main

    sys.argv = ["label-studio", *argv]
    return label_studio_main()


def _worker(argv):
    """A Celery worker (with beat unless ``--no-beat``); other arguments go to Celery."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    from ls_aperturedb.celery import app

    args = [a for a in argv if a != "--no-beat"]
    beat = ["--beat"] if "--no-beat" not in argv and "--beat" not in argv and "-B" not in argv else []
    return app.worker_main(["worker", "--loglevel=INFO", *beat, *args])


def _emulator(argv):
    from aperturedb_emulator.__main__ import main as emulator_main

    return emulator_main(argv)


def _demo(argv):
    from ls_aperturedb.demo import main as demo_main

    return demo_main(argv)


def _rotate_secrets(argv):
    """Re-encrypt every stored ApertureDB secret with the newest key of LS_APERTUREDB_SECRET_KEYS."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    import django

    django.setup()
    from ls_aperturedb.models import (
        SECRET_FIELDS,
        WEBHOOK_SECRET_FIELDS,
        ApertureDBExportStorage,
        ApertureDBImportStorage,
    )

    count = 0
    for model in (ApertureDBImportStorage, ApertureDBExportStorage):
        for storage in model.objects.all():
            # Reading decrypts with any known key; writing encrypts with the newest.
            model.objects.filter(pk=storage.pk).update(
                **{n: getattr(storage, n) for n in (*SECRET_FIELDS, *WEBHOOK_SECRET_FIELDS)})
            count += 1
    print(f"re-encrypted the secrets of {count} ApertureDB storage(s)")
    return 0


def _operation(name):
    def run(argv):
        from ls_aperturedb.ops import cli as ops_cli

        return getattr(ops_cli, f"{name}_main")(argv)
    return run


COMMANDS = {
    "start": (_label_studio, "Label Studio with the plugin (Label Studio's own arguments pass through)"),
    "worker": (_worker, "Celery worker with beat (Celery's arguments pass through; --no-beat)"),
    "emulator": (_emulator, "the ApertureDB emulator (--seed N for N sample images)"),
    "demo": (_demo, "everything at once: emulator, worker, Label Studio, a synced project"),
    "rotate-secrets": (_rotate_secrets, "re-encrypt stored secrets with the newest key"),
    "storage": (_operation("storage"), "ApertureDB storages as code: list|add|update|sync|delete (JSON/YAML)"),
    "cleanup": (_operation("cleanup"), "remove what target storages wrote to ApertureDB for --project N"),
    "provision": (_operation("provision"), "user, project and storages from LS_APERTUREDB_PROVISION_*"),
}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        parser = argparse.ArgumentParser(prog="ls-aperturedb", description=__doc__)
        parser.add_argument("command", choices=COMMANDS, help="; ".join(f"{k}: {v[1]}" for k, v in COMMANDS.items()))
        parser.parse_args(argv[:1])
    handler, _ = COMMANDS[argv[0]]
    return handler(argv[1:]) or 0


if __name__ == "__main__":
    sys.exit(main())
