"""``manage.py aperturedb_storage``: the same as ``ls-aperturedb storage`` (see ls_aperturedb/ops/cli.py)."""
from django.core.management.base import BaseCommand, CommandError

from ls_aperturedb.ops import cli


class Command(BaseCommand):
    help = cli.HELP["storage"]

    def add_arguments(self, parser):
        cli.add_storage_arguments(parser)

    def handle(self, *args, **options):
        self.stdout.ending = ""  # the progress bar rewrites its line
        status = cli.run_storage(options, out=self.stdout)
        if status:
            raise CommandError(f"ls-aperturedb storage failed (exit {status})", returncode=status)
