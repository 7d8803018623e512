"""Provisioning from environment variables through the real command lines (subprocesses sharing the
test database): user, project with its labeling config, source and target storages, a sync; run again
(a restart) it changes nothing; ``ls-aperturedb start`` runs it before Label Studio."""
import subprocess
import sys

import pytest

from tests.fixtures.export import add_images
from tests.fixtures.labelstudio import IMAGE_CONFIG
from tests.fixtures.worker import worker_env

pytestmark = pytest.mark.django_db(transaction=True)


def provisioning_env(adb, **extra):
    fields = adb.storage_fields()
    env = {"LS_APERTUREDB_BROKER_URL": "", "LS_APERTUREDB_PROVISION_PROJECT": "Provisioned",
           "LS_APERTUREDB_PROVISION_LABEL_CONFIG": IMAGE_CONFIG,
           "LS_APERTUREDB_PROVISION_USER": "ops@example.com", "LS_APERTUREDB_PROVISION_PASSWORD": "ops-pass-123",
           "LS_APERTUREDB_PROVISION_CONSTRAINTS": '{"export_test": [">=", 1]}'}
    if "aperturedb_key" in fields:
        env["LS_APERTUREDB_PROVISION_ADB_KEY"] = fields["aperturedb_key"]
    else:
        env.update({"LS_APERTUREDB_PROVISION_ADB_HOST": fields["hostname"],
                    "LS_APERTUREDB_PROVISION_ADB_PORT": str(fields["port"]),
                    "LS_APERTUREDB_PROVISION_ADB_USERNAME": fields["username"],
                    "LS_APERTUREDB_PROVISION_ADB_PASSWORD": fields["password"],
                    "LS_APERTUREDB_PROVISION_ADB_USE_SSL": "1" if fields["use_ssl"] else "0"})
    env.update(extra)
    return worker_env(env)


def run(args, env):
    proc = subprocess.run([sys.executable, "-m", "ls_aperturedb.cli", *args], env=env, capture_output=True,
                          text=True, timeout=300)
    return proc.returncode, proc.stdout + proc.stderr


def test_provision_creates_then_changes_nothing(adb):
    from projects.models import Project

    from ls_aperturedb.models import ApertureDBExportStorage, ApertureDBImportStorage

    add_images(adb, 4)  # export_test 0..3: the constraints select 3
    env = provisioning_env(adb)
    code, out = run(["provision"], env)
    assert code == 0, out
    assert "user ops@example.com: created" in out and "'Provisioned': created" in out
    assert "source storage" in out and "target storage" in out and "sync of source storage" in out
    assert "ops-pass-123" not in out and env.get("LS_APERTUREDB_PROVISION_ADB_PASSWORD", "~") not in out.replace(
        "admin@", "")  # the ApertureDB password is not printed
    project = Project.objects.get(title="Provisioned")
    assert project.created_by.email == "ops@example.com" and "RectangleLabels" in project.label_config
    assert project.tasks.count() == 3
    source = ApertureDBImportStorage.objects.get(project=project)
    assert source.constraints == {"export_test": [">=", 1]} and source.status == "completed"
    assert ApertureDBExportStorage.objects.filter(project=project).count() == 1

    code, out = run(["provision"], env)  # a restart
    assert code == 0, out
    assert "user ops@example.com: exists" in out and "'Provisioned': unchanged" in out
    assert out.count(": unchanged") == 3, out
    assert Project.objects.filter(title="Provisioned").count() == 1 and project.tasks.count() == 3
    assert ApertureDBImportStorage.objects.filter(project=project).count() == 1


def test_start_provisions_first_and_a_bad_variable_stops_it(adb):
    from projects.models import Project

    code, out = run(["start", "--help"], provisioning_env(adb, LS_APERTUREDB_PROVISION_SYNC="0"))
    assert code == 0, out
    assert "'Provisioned': created" in out and "usage" in out.lower()  # then Label Studio's own start
    assert Project.objects.filter(title="Provisioned").count() == 1

    code, out = run(["start", "--help"], provisioning_env(adb, LS_APERTUREDB_PROVISION_CONSTRAINTS="{oops"))
    assert code == 2 and "LS_APERTUREDB_PROVISION_CONSTRAINTS: not valid JSON" in out, out
