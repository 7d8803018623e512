"""docker/: the production stack is valid Compose and only refers to things the code has.

No Docker engine runs in CI, so the compose file is checked against the Compose Specification's JSON
schema (tests/data/compose-spec.json, vendored from github.com/compose-spec/compose-spec, Apache-2.0),
and every command, module and LS_APERTUREDB_* variable it names is checked against the code.
"""
import importlib
import json
import os
import re
import shlex

import jsonschema
import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCKER = os.path.join(ROOT, "docker")
COMPOSE = os.path.join(DOCKER, "docker-compose.yml")
ENV_EXAMPLE = os.path.join(DOCKER, ".env.example")
DOCKERFILE = os.path.join(DOCKER, "Dockerfile")
SCHEMA = os.path.join(ROOT, "tests", "data", "compose-spec.json")
PLUGIN = os.path.join(ROOT, "ls_aperturedb")

APP_SERVICES = ("label-studio", "worker", "beat")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(read(COMPOSE))


@pytest.fixture(scope="module")
def env_example():
    values = {}
    for line in read(ENV_EXAMPLE).splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def settings_the_code_reads():
    """LS_APERTUREDB_<NAME> the plugin reads: conf.DEFAULTS plus every conf.env/get*("NAME") call."""
    from ls_aperturedb import conf

    names = set(conf.DEFAULTS)
    call = re.compile(r"""\b(?:env|get|get_int|get_list)\(\s*["']([A-Z][A-Z0-9_]*)["']""")
    literal = re.compile(r"LS_APERTUREDB_([A-Z][A-Z0-9_]*)")
    for folder, _, files in os.walk(PLUGIN):
        for name in files:
            if name.endswith(".py"):
                text = read(os.path.join(folder, name))
                names |= set(call.findall(text)) | set(literal.findall(text))
    return {"LS_APERTUREDB_" + name for name in names}


def command_argv(command):
    return shlex.split(command) if isinstance(command, str) else list(command)


def test_compose_file_follows_the_compose_specification(compose):
    jsonschema.validate(compose, json.loads(read(SCHEMA)))


def test_stack_has_every_service_with_a_healthcheck(compose):
    services = compose["services"]
    assert set(services) == {"label-studio", "worker", "beat", "redis", "db", "aperturedb"}
    for name, service in services.items():
        assert "healthcheck" in service and service["healthcheck"]["test"], name
    assert services["aperturedb"]["image"].endswith("aperturedata/aperturedb-community}")
    assert {"ADB_MASTER_KEY", "ADB_KVGD_DB_SIZE"} <= set(services["aperturedb"]["environment"])
    for volume in ("ls-data", "pg-data", "redis-data", "adb-db"):
        assert volume in compose["volumes"]


def test_workers_scale(compose):
    for name in ("worker", "beat"):
        assert "container_name" not in compose["services"][name]
    assert "ports" not in compose["services"]["worker"]


def test_celery_commands_name_the_plugins_celery_app(compose):
    from celery import Celery

    seen = set()
    for name in ("worker", "beat"):
        service = compose["services"][name]
        argv = command_argv(service["command"])
        assert argv[:2] == ["celery", "-A"], argv
        module = importlib.import_module(argv[2])
        assert isinstance(getattr(module, "app", None), Celery), f"{argv[2]} has no Celery `app`"
        seen.add(argv[3])
        health = command_argv(service["healthcheck"]["test"][1:])
        if health[0] == "celery":
            assert health[2] == argv[2]
    assert seen == {"worker", "beat"}
    from ls_aperturedb.celery import app

    assert "ls_aperturedb.tasks.reconcile_exports" in {s["task"] for s in app.conf.beat_schedule.values()}


def test_application_services_use_the_plugin_settings(compose):
    dockerfile = read(DOCKERFILE)
    assert "ENV DJANGO_SETTINGS_MODULE=ls_aperturedb.settings" in dockerfile
    for name in APP_SERVICES:
        environment = compose["services"][name]["environment"]
        importlib.import_module(environment["DJANGO_SETTINGS_MODULE"])
        assert environment["DJANGO_DB"] == "default" and environment["POSTGRE_HOST"] == "db"
        assert environment["LS_APERTUREDB_BROKER_URL"].startswith("redis://redis:")


def test_dockerfile_pins_the_label_studio_this_plugin_targets():
    import label_studio

    dockerfile = read(DOCKERFILE)
    pinned = re.search(r"^ARG LABEL_STUDIO_VERSION=(\S+)$", dockerfile, re.M).group(1)
    assert pinned == label_studio.__version__
    assert "FROM heartexlabs/label-studio:${LABEL_STUDIO_VERSION}" in dockerfile
    for path in re.findall(r"^COPY (\S+)", dockerfile, re.M):
        assert os.path.exists(os.path.join(ROOT, path)), path


def test_plugin_env_vars_are_ones_the_code_reads(compose, env_example):
    known = settings_the_code_reads()
    used = set(env_example) | set(re.findall(r"\bLS_APERTUREDB_[A-Z0-9_]+", read(COMPOSE)))
    plugin_vars = {name for name in used if name.startswith("LS_APERTUREDB_")}
    assert plugin_vars, "the stack configures no plugin setting"
    assert plugin_vars <= known, f"not read anywhere in ls_aperturedb: {sorted(plugin_vars - known)}"


def test_every_interpolated_variable_has_a_default_or_an_example(compose, env_example):
    for name, has_default in re.findall(r"\$\{([A-Z][A-Z0-9_]*)(:?[-?])?", read(COMPOSE)):
        assert has_default == ":-" or name in env_example, f"${{{name}}} is neither defaulted nor in .env.example"


def test_env_example_holds_no_secrets(env_example):
    for key in ("SECRET_KEY", "POSTGRE_PASSWORD", "LABEL_STUDIO_PASSWORD", "ADB_MASTER_KEY",
                "LS_APERTUREDB_SECRET_KEYS"):
        assert env_example[key].startswith("CHANGE-ME"), key


def test_label_studio_provisions_at_start(compose, env_example):
    """``ls-aperturedb start`` (a console script of the package) provisions first; every provisioning
    variable the service sets is one ops/provision.py reads, and the ApertureDB is the stack's."""
    import tomllib

    service = compose["services"]["label-studio"]
    argv = command_argv(service["command"])
    scripts = tomllib.loads(read(os.path.join(ROOT, "pyproject.toml")))["project"]["scripts"]
    assert argv[:2] == ["ls-aperturedb", "start"] and scripts["ls-aperturedb"] == "ls_aperturedb.cli:main"
    provision = read(os.path.join(PLUGIN, "ops", "provision.py"))
    names = {name for name in service["environment"] if name.startswith("LS_APERTUREDB_PROVISION_")}
    assert {"LS_APERTUREDB_PROVISION_PROJECT", "LS_APERTUREDB_PROVISION_ADB_HOST",
            "LS_APERTUREDB_PROVISION_ADB_PASSWORD"} <= names
    for name in names:
        assert f'var("{name.removeprefix("LS_APERTUREDB_PROVISION_")}"' in provision, name
    assert service["environment"]["LS_APERTUREDB_PROVISION_ADB_HOST"] == "aperturedb"
    assert service["environment"]["LS_APERTUREDB_PROVISION_ADB_PASSWORD"].startswith("${ADB_MASTER_KEY")
    assert env_example["LS_APERTUREDB_PROVISION_PROJECT"] == ""  # off unless asked for
