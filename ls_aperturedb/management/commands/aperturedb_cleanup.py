"""``manage.py aperturedb_cleanup``: the same as ``ls-aperturedb cleanup`` (see ls_aperturedb/ops/cli.py)."""
from django.core.management.base import BaseCommand, CommandError

from ls_aperturedb.ops import cli


class Command(BaseCommand):
    help = cli.HELP["cleanup"]

    def add_arguments(self, parser):
        cli.add_cleanup_arguments(parser)

    def handle(self, *args, **options):
        self.stdout.ending = ""  # the progress bar rewrites its line
        status = cli.run_cleanup(options, out=self.stdout)
        if status:
            raise CommandError(f"ls-aperturedb cleanup failed (exit {status})", returncode=status)
