"""Provision at start: a user, a project with its labeling config, and ApertureDB source/target
storages from environment variables, then a sync — so ``docker compose up`` yields a ready project.

Idempotent across restarts: the user is found by e-mail, the project by title (in the user's
organization), the storages by project + title (``storage_as_code``); what exists is updated, never
duplicated. ``ls-aperturedb start`` runs it (``ls-aperturedb provision --migrate`` in a subprocess)
before Label Studio when ``LS_APERTUREDB_PROVISION_PROJECT`` is set.

Variables (secrets may also come as ``<NAME>_FILE``, a path):
  LS_APERTUREDB_PROVISION_PROJECT        project title (required to provision anything)
  LS_APERTUREDB_PROVISION_LABEL_CONFIG   labeling config XML (or _FILE); default: boxes and polygons
  LS_APERTUREDB_PROVISION_USER           owner e-mail (default LABEL_STUDIO_USERNAME)
  LS_APERTUREDB_PROVISION_PASSWORD       owner password (default LABEL_STUDIO_PASSWORD); set on create only
  LS_APERTUREDB_PROVISION_ADB_HOST, LS_APERTUREDB_PROVISION_ADB_PORT (55555),
  LS_APERTUREDB_PROVISION_ADB_USERNAME (admin), LS_APERTUREDB_PROVISION_ADB_PASSWORD,
  LS_APERTUREDB_PROVISION_ADB_USE_SSL (1), LS_APERTUREDB_PROVISION_ADB_VERIFY_HOSTNAME (1),
  LS_APERTUREDB_PROVISION_ADB_CA_CERT (PEM), or LS_APERTUREDB_PROVISION_ADB_KEY: the ApertureDB of both storages
  LS_APERTUREDB_PROVISION_SOURCE_TITLE   source storage title (default "ApertureDB"; "" = none)
  LS_APERTUREDB_PROVISION_CONSTRAINTS    FindImage constraints of the source (JSON)
  LS_APERTUREDB_PROVISION_TARGET_TITLE   target storage title (default "ApertureDB export"; "" = none)
  LS_APERTUREDB_PROVISION_STORAGES       a storages-as-code file (JSON/YAML) instead of the above;
                                         its storages default to the provisioned project
  LS_APERTUREDB_PROVISION_SYNC           1 (default): sync the source storages after provisioning
"""
import json
import os

PREFIX = "LS_APERTUREDB_PROVISION_"
DEFAULT_CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image"><Label value="object"/></RectangleLabels>
  <PolygonLabels name="polygon" toName="image"><Label value="object"/></PolygonLabels>
</View>"""


class ProvisionError(ValueError):
    """A provisioning variable that cannot be used; the message names it."""


def var(name, default=None):
    """``LS_APERTUREDB_PROVISION_<name>``, or the content of the file ``..._FILE`` names."""
    key = PREFIX + name
    if key in os.environ:
        return os.environ[key]
    path = os.environ.get(key + "_FILE")
    if path:
        try:
            with open(path) as fh:
                return fh.read().strip()
        except OSError as exc:
            raise ProvisionError(f"{key}_FILE: cannot read {path}: {exc.strerror}") from None
    return default


def provision_from_environment(sync=True):
    """Create or update what the variables describe; yields one line per thing done."""
    title = var("PROJECT")
    if not title:
        yield f"{PREFIX}PROJECT is not set: nothing to provision"
        return
    user, created = _user()
    yield f"user {user.email}: {'created' if created else 'exists'}"
    project, change = _project(user, title)
    yield f"project {project.id} {project.title!r}: {change}"
    from ls_aperturedb.ops import storage_as_code as sac

    storages = []
    for index, spec in enumerate(_storage_specs(project)):
        try:
            change = sac.apply(spec, index)
        except sac.SpecError as exc:
            raise ProvisionError(str(exc)) from None
        storages.append(change)
        yield str(change)
    if sync and var("SYNC", "1").strip().lower() not in ("0", "false", "no", ""):
        for change in storages:
            if change.kind == "source":
                change.storage.sync()
                change.storage.refresh_from_db()
                yield f"sync of source storage {change.storage.id}: {change.storage.status}"


def _user():
    from users.models import User

    email = var("USER") or os.environ.get("LABEL_STUDIO_USERNAME")
    if not email:
        raise ProvisionError(f"{PREFIX}USER (or LABEL_STUDIO_USERNAME) is required: the project's owner")
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        if user.active_organization is None:
            _join(user)
        return user, False
    password = var("PASSWORD") or os.environ.get("LABEL_STUDIO_PASSWORD")
    if not password:
        raise ProvisionError(f"{PREFIX}PASSWORD (or LABEL_STUDIO_PASSWORD) is required to create {email}")
    user = User.objects.create_user(email=email, password=password, username=email)
    _join(user)
    return user, True


def _join(user):
    """Into the installation's first organization (Label Studio's open-source edition has one)."""
    from organizations.models import Organization

    org = Organization.objects.order_by("id").first()
    if org is None:
        org = Organization.create_organization(created_by=user, title="Label Studio")
    else:
        org.add_user(user)
    user.active_organization = org
    user.save(update_fields=["active_organization"])


def _project(user, title):
    from projects.models import Project

    config = var("LABEL_CONFIG") or DEFAULT_CONFIG
    project = Project.objects.filter(title=title, organization=user.active_organization).order_by("id").first()
    if project is None:
        project = Project.objects.create(title=title, label_config=config, created_by=user,
                                         organization=user.active_organization)
        return project, "created"
    if project.label_config.strip() != config.strip():
        from projects.serializers import ProjectSerializer

        serializer = ProjectSerializer(project, data={"label_config": config}, partial=True)
        if not serializer.is_valid():
            raise ProvisionError(f"{PREFIX}LABEL_CONFIG: {serializer.errors}")
        serializer.save()
        return project, "label config updated"
    return project, "unchanged"


def _storage_specs(project):
    from ls_aperturedb.ops import storage_as_code as sac

    path = var("STORAGES")
    if path:
        specs = sac.read(path)
        return [{"project": project.id, **spec} for spec in specs]
    connection = _connection()
    if connection is None:
        return []
    specs = []
    source = var("SOURCE_TITLE", "ApertureDB")
    if source:
        spec = {"kind": "source", "project": project.id, "title": source, **connection}
        constraints = var("CONSTRAINTS")
        if constraints:
            try:
                spec["constraints"] = json.loads(constraints)
            except ValueError as exc:
                raise ProvisionError(f"{PREFIX}CONSTRAINTS: not valid JSON: {exc}") from None
        specs.append(spec)
    target = var("TARGET_TITLE", "ApertureDB export")
    if target:
        specs.append({"kind": "target", "project": project.id, "title": target, **connection})
    return specs


def _connection():
    """The storages' connection fields; secrets by variable name (storage_as_code reads them)."""
    if var("ADB_KEY"):
        os.environ.setdefault("_LS_ADB_PROVISION_KEY", var("ADB_KEY"))
        return {"aperturedb_key_env": "_LS_ADB_PROVISION_KEY"}
    host = var("ADB_HOST")
    if not host:
        return None
    fields = {"hostname": host, "port": int(var("ADB_PORT", "55555")), "username": var("ADB_USERNAME", "admin"),
              "use_ssl": _yes(var("ADB_USE_SSL", "1")), "verify_hostname": _yes(var("ADB_VERIFY_HOSTNAME", "1")),
              "ca_cert": var("ADB_CA_CERT", "")}
    password = var("ADB_PASSWORD")
    if password:
        os.environ.setdefault("_LS_ADB_PROVISION_PASSWORD", password)
        fields["password_env"] = "_LS_ADB_PROVISION_PASSWORD"
    return fields


def _yes(value):
    return str(value).strip().lower() in ("1", "true", "yes")


def provision_before_start():
    """``ls-aperturedb start``: migrate and provision in a subprocess (its own Django), then Label Studio
    starts; a provisioning error stops the start with the message."""
    import subprocess
    import sys

    status = subprocess.call([sys.executable, "-m", "ls_aperturedb.cli", "provision", "--migrate"])
    if status:
        raise SystemExit(status)
