"""Command lines of the operations: ``ls-aperturedb storage|cleanup|provision`` and the same as Django
management commands (``aperturedb_storage``, ``aperturedb_cleanup``, ``aperturedb_provision``).

Each ``add_*_arguments`` fills an argparse parser (Django's or ours) and each ``run_*`` takes the parsed
options and an output stream, and returns the exit status: 0 done, 1 a sync failed, 2 bad input.
"""
import json
import sys

EXIT_FAILED, EXIT_USAGE = 1, 2


# ------------------------------------------------------------------ storage
def add_storage_arguments(parser):
    actions = parser.add_subparsers(dest="action", metavar="list|add|update|sync|delete")
    actions.required = True
    listing = actions.add_parser("list", help="list ApertureDB storages (no secrets)")
    listing.add_argument("--project", help="only this project (id or title)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    add = actions.add_parser("add", help="create or update the storages of a JSON/YAML file ('-': stdin)")
    add.add_argument("file")
    add.add_argument("--sync", action="store_true", help="then sync each storage")
    _wait_arguments(add)
    update = actions.add_parser("update", help="update existing storages from a JSON/YAML file")
    update.add_argument("file")
    for name, text in (("sync", "sync storages"), ("delete", "delete storages")):
        sub = actions.add_parser(name, help=f"{text} named in a file, or by --project and --title")
        sub.add_argument("file", nargs="?")
        sub.add_argument("--project", help="project id or title")
        sub.add_argument("--title", help="storage title")
        sub.add_argument("--kind", default="source", choices=("source", "target"))
        if name == "sync":
            _wait_arguments(sub)


def _wait_arguments(parser):
    parser.add_argument("--wait", action="store_true", help="follow the sync with a progress bar; exit 1 "
                        "with its status message if it fails")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds --wait waits (default 3600)")


def run_storage(options, out=sys.stdout):
    from ls_aperturedb.ops import storage_as_code as sac
    from ls_aperturedb.ops.sync_progress import SyncFailed

    action = options["action"]
    try:
        if action == "list":
            project = sac.project_of(options["project"], "--project") if options.get("project") else None
            return _print_list(sac.listing(project), options.get("json"), out)
        specs = _specs(options)
        if action in ("add", "update"):
            changes = [sac.apply(spec, i, must_exist=action == "update") for i, spec in enumerate(specs)]
            for change in changes:
                out.write(f"{change}\n")
            if options.get("sync"):
                _sync_all([c.storage for c in changes], options, out)
            return 0
        storages = [_existing(sac, spec, i) for i, spec in enumerate(specs)]
        if action == "delete":
            for (kind, storage) in storages:
                out.write(f"{sac.delete(kind, storage.project, storage.title)}\n")
            return 0
        _sync_all([storage for _, storage in storages], options, out)
        return 0
    except sac.SpecError as exc:
        out.write(f"error: {exc}\n")
        return EXIT_USAGE
    except SyncFailed as exc:
        out.write(f"sync failed: {exc}\n")
        return EXIT_FAILED


def _specs(options):
    from ls_aperturedb.ops import storage_as_code as sac

    if options.get("file"):
        return sac.read(options["file"])
    if not (options.get("project") and options.get("title")):
        raise sac.SpecError("give a spec file, or --project and --title")
    return [{"project": options["project"], "title": options["title"], "kind": options.get("kind", "source")}]


def _existing(sac, spec, index):
    where = f"storage {index + 1} ({spec.get('title', 'untitled')!r})"
    kind = sac.kind_of(spec, where)
    project = sac.project_of(spec.get("project"), where)
    storage = sac.find(kind, project, spec.get("title"))
    if storage is None:
        raise sac.SpecError(f"{where}: no {kind} storage titled {spec.get('title')!r} in project {project.id}")
    return kind, storage


def _sync_all(storages, options, out):
    from ls_aperturedb.ops import sync_progress

    for storage in storages:
        storage = sync_progress.start(storage)
        out.write(f"sync of storage {storage.id} {storage.title!r}: {storage.status}\n")
        if options.get("wait"):
            sync_progress.wait(storage, out, timeout=options.get("timeout") or 3600)


def _print_list(rows, as_json, out):
    if as_json:
        out.write(json.dumps(rows, indent=2, default=str) + "\n")
        return 0
    out.write(f"{'kind':<7} {'id':>5} {'project':>7}  {'status':<22} {'every':>6}  title\n")
    for row in rows:
        every = f"{row['sync_interval']}s" if row.get("sync_interval") else "-"
        out.write(f"{row['kind']:<7} {row['id']:>5} {row['project']:>7}  {row.get('status') or '':<22} "
                  f"{every:>6}  {row['title']}\n")
    return 0


# ------------------------------------------------------------------ cleanup
def add_cleanup_arguments(parser):
    parser.add_argument("--project", required=True, type=int, help="project id")
    parser.add_argument("--dry-run", action="store_true", help="print what would be removed, remove nothing")
    parser.add_argument("--storage", type=int, help="only this target storage (default: every target of the project)")


def run_cleanup(options, out=sys.stdout):
    from ls_aperturedb.ops import cleanup

    try:
        reports = cleanup.cleanup_project(options["project"], dry_run=options.get("dry_run"),
                                          storage_id=options.get("storage"))
    except cleanup.CleanupError as exc:
        out.write(f"error: {exc}\n")
        return EXIT_USAGE
    for report in reports:
        out.write(f"{report}\n")
    return 0


# ------------------------------------------------------------------ provision
def add_provision_arguments(parser):
    parser.add_argument("--no-sync", action="store_true", help="create/update only, do not start syncs")
    parser.add_argument("--migrate", action="store_true", help="apply database migrations first (start does)")


def run_provision(options, out=sys.stdout):
    from ls_aperturedb.ops import provision

    if options.get("migrate"):
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    try:
        for line in provision.provision_from_environment(sync=not options.get("no_sync")):
            out.write(f"{line}\n")
    except provision.ProvisionError as exc:
        out.write(f"error: {exc}\n")
        return EXIT_USAGE
    return 0


# ------------------------------------------------------------------ ls-aperturedb <command>
def _main(add_arguments, run, prog, description):
    def main(argv):
        import argparse
        import os

        import django

        parser = argparse.ArgumentParser(prog=f"ls-aperturedb {prog}", description=description)
        add_arguments(parser)
        options = vars(parser.parse_args(argv))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ls_aperturedb.settings")
        django.setup()
        return run(options)
    return main


HELP = {
    "storage": "ApertureDB storages as code (JSON/YAML): list, add, update, sync, delete",
    "cleanup": "remove what the target storages wrote to ApertureDB for a project (--dry-run: counts)",
    "provision": "create/update the user, project and storages named by LS_APERTUREDB_PROVISION_* variables",
}
storage_main = _main(add_storage_arguments, run_storage, "storage", HELP["storage"])
cleanup_main = _main(add_cleanup_arguments, run_cleanup, "cleanup", HELP["cleanup"])
provision_main = _main(add_provision_arguments, run_provision, "provision", HELP["provision"])
