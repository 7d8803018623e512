"""``manage.py aperturedb_provision``: the same as ``ls-aperturedb provision`` (see ls_aperturedb/ops/cli.py)."""
from django.core.management.base import BaseCommand, CommandError

from ls_aperturedb.ops import cli


class Command(BaseCommand):
    help = cli.HELP["provision"]

    def add_arguments(self, parser):
        cli.add_provision_arguments(parser)

    def handle(self, *args, **options):
        self.stdout.ending = ""  # the progress bar rewrites its line
        status = cli.run_provision(options, out=self.stdout)
        if status:
            raise CommandError(f"ls-aperturedb provision failed (exit {status})", returncode=status)
