"""Storages as code through the real command lines (``ls-aperturedb storage`` in a subprocess, and the
Django management command): idempotent by project + title, secrets only from the environment or
files, changes printed, ``add --sync --wait`` following a real worker's sync to its end."""
import json
import os
import subprocess
import sys

import pytest

from tests.fixtures.export import add_images
from tests.fixtures.worker import worker_env

from ls_aperturedb.models import ApertureDBImportStorage

pytestmark = pytest.mark.django_db(transaction=True)


def cli(args, extra_env=None, broker=""):
    env = worker_env({"LS_APERTUREDB_BROKER_URL": broker, **(extra_env or {})})
    proc = subprocess.run([sys.executable, "-m", "ls_aperturedb.cli", *args], env=env, capture_output=True,
                          text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def spec_file(tmp_path, specs, name="storages.yaml"):
    import yaml

    path = tmp_path / name
    path.write_text(yaml.safe_dump(specs))
    return str(path)


def connection(adb, secret_env="ADB_TEST_PASSWORD"):
    fields = adb.storage_fields()
    if "aperturedb_key" in fields:
        return {"aperturedb_key_env": "ADB_TEST_KEY"}, {"ADB_TEST_KEY": fields["aperturedb_key"]}
    fields = {k: v for k, v in fields.items() if k != "password"}
    return {**fields, "password_env": secret_env}, {secret_env: adb.password}


def conn_password(adb):
    return adb.storage_fields().get("password", "")


def test_add_twice_changes_nothing_the_second_time_and_prints_what_changed(api, project, adb, tmp_path):
    conn, env = connection(adb)
    spec = {"project": project.id, "title": "images", "kind": "source", **conn,
            "constraints": {"dataset": ["==", "train"]}, "sync_interval": 600}
    target = {"project": project.title, "title": "labels", "kind": "target", **conn}
    path = spec_file(tmp_path, [spec, target])

    code, out, err = cli(["storage", "add", path], env)
    assert code == 0, out + err
    assert "source storage" in out and "'images'" in out and ": created" in out
    assert "target storage" in out and "'labels'" in out
    assert "password" not in out.lower()

    code, out, _ = cli(["storage", "add", path], env)
    assert code == 0 and out.count(": unchanged") == 2, out

    spec["constraints"] = {"dataset": ["==", "val"]}
    code, out, _ = cli(["storage", "add", spec_file(tmp_path, [spec])], env)
    assert code == 0 and ": updated" in out, out
    assert 'constraints: {"dataset": ["==", "train"]} -> {"dataset": ["==", "val"]}' in out

    listed = api.get(f"/api/storages/aperturedb?project={project.id}").json()
    assert [(s["title"], s["sync_interval"], s["constraints"]) for s in listed] == [
        ("images", 600, {"dataset": ["==", "val"]})]
    assert "password" not in listed[0]
    assert ApertureDBImportStorage.objects.get(id=listed[0]["id"]).password == conn_password(adb)


def command(*args, env=None):
    """``manage.py aperturedb_storage ...`` in this process: (exit status, output)."""
    import io

    from django.core.management import CommandError, call_command

    out = io.StringIO()
    saved = {name: os.environ.get(name) for name in env or {}}
    os.environ.update(env or {})
    try:
        call_command("aperturedb_storage", *args, stdout=out)
        return 0, out.getvalue()
    except CommandError as exc:
        return exc.returncode, out.getvalue()
    finally:
        for name, value in saved.items():
            os.environ.pop(name) if value is None else os.environ.__setitem__(name, value)


def test_a_secret_in_the_spec_or_a_missing_variable_is_refused_by_name(project, adb, tmp_path):
    conn, env = connection(adb)
    literal = {**{k: v for k, v in conn.items() if not k.endswith("_env")}, "password": "hunter2"}
    code, out = command("add", spec_file(tmp_path, {"project": project.id, "title": "x", **literal}))
    assert code == 2 and "password: do not put secrets in the spec; use password_env" in out, out
    assert "hunter2" not in out

    code, out = command("add", spec_file(tmp_path, {"project": project.id, "title": "x", **conn}))
    assert code == 2 and "password_env: environment variable ADB_TEST_PASSWORD is not set" in out, out

    code, out = command("add", spec_file(tmp_path, {"project": 999999, "title": "x", **conn}), env=env)
    assert code == 2 and "project 999999 does not exist" in out, out

    code, out = command("add", spec_file(tmp_path, {"project": project.id, "title": "x", **conn, "port": 0}),
                        env=env)
    assert code == 2 and "port: port must be between 1 and 65535" in out, out  # the API's own validation

    code, out = command("add", spec_file(tmp_path, {"project": project.id, "title": "x", **conn,
                                                     "sync_interval": 3}), env=env)
    assert code == 2 and "sync_interval: sync every at least 10 seconds" in out, out

    code, out = command("update", spec_file(tmp_path, {"project": project.id, "title": "nope", **conn}), env=env)
    assert code == 2 and "no source storage titled 'nope'" in out, out

    if "password_env" in conn:  # a secret from a file
        secret = tmp_path / "secret"
        secret.write_text(env["ADB_TEST_PASSWORD"] + "\n")
        from_file = {**{k: v for k, v in conn.items() if k != "password_env"}, "password_file": str(secret)}
        code, out = command("add", spec_file(tmp_path, {"project": project.id, "title": "x", **from_file}))
        assert code == 0 and ": created" in out, out


def test_add_sync_wait_follows_the_workers_sync(project, adb, tmp_path, celery_worker):
    from tests.fixtures.worker import REDIS_URL

    add_images(adb, 12, boxes=1)
    conn, env = connection(adb)
    path = spec_file(tmp_path, {"project": project.id, "title": "images", **conn, "batch_size": 5})
    code, out, err = cli(["storage", "add", path, "--sync", "--wait"], env, broker=REDIS_URL)
    assert code == 0, out + err
    assert "[" + "#" * 30 + "] completed: 12 images seen, 12 tasks created" in out, out
    assert project.tasks.count() == 12


def test_sync_wait_exits_non_zero_with_the_status_message(user, adb, tmp_path):
    from tests.fixtures.labelstudio import make_project

    add_images(adb, 2)
    project = make_project(user, label_config='<View><Text name="t" value="$text"/></View>')
    conn, env = connection(adb)
    path = spec_file(tmp_path, {"project": project.id, "title": "images", **conn})
    code, out, _ = cli(["storage", "add", path, "--sync", "--wait"], env)
    assert code == 1, out
    assert "sync failed: Sync failed:" in out and "Image" in out, out


def test_management_command_lists_and_deletes(project, adb, tmp_path):
    conn, env = connection(adb)
    path = spec_file(tmp_path, {"project": project.id, "title": "images", **conn})
    assert command("add", path, env=env)[0] == 0
    code, out = command("list", "--json", "--project", str(project.id))
    listed = json.loads(out)
    assert code == 0 and [(r["kind"], r["title"]) for r in listed] == [("source", "images")]
    assert "password" not in listed[0]
    assert ApertureDBImportStorage.objects.get(id=listed[0]["id"]).password == conn_password(adb)
    code, out = command("list")
    assert code == 0 and "images" in out.splitlines()[1]
    code, out = command("delete", "--project", str(project.id), "--title", "images")
    assert code == 0 and ": deleted" in out, out
    code, out = command("delete", "--project", str(project.id), "--title", "images")
    assert code == 2 and "no source storage titled 'images'" in out, out
