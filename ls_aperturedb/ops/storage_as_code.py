"""Storages as code: ApertureDB source/target storages described in JSON or YAML, applied idempotently.

A spec is one storage or a list of them (or ``{"storages": [...]}``); a storage is identified by its
project and title, so applying the same file twice changes nothing the second time. Every value goes
through the API's own serializer (same validation, same connection check). Secrets never appear in
the spec or on the command line: ``password_env: NAME`` reads an environment variable,
``password_file: PATH`` a file (``token``, ``aperturedb_key`` and ``webhook_secret`` likewise). What
changed is reported field by field, secrets only as "changed".
"""
import json
import os
from dataclasses import dataclass, field

from ls_aperturedb.models import (
    SECRET_FIELDS,
    WEBHOOK_SECRET_FIELDS,
    ApertureDBExportStorage,
    ApertureDBImportStorage,
)

SECRETS = (*SECRET_FIELDS, *WEBHOOK_SECRET_FIELDS)
KINDS = {"source": ApertureDBImportStorage, "import": ApertureDBImportStorage,
         "target": ApertureDBExportStorage, "export": ApertureDBExportStorage}
NOT_SETTABLE = {"id", "type", "status", "traceback", "meta", "last_sync", "last_sync_count", "last_sync_job",
                "created_at", "updated_at", "synchronizable", "heartbeat", "scheduled_at", "use_blob_urls"}


class SpecError(ValueError):
    """A spec that cannot be applied; the message names the storage, the field and the reason."""


@dataclass
class Change:
    kind: str
    storage: object
    action: str  # created | updated | unchanged | deleted
    fields: list = field(default_factory=list)  # "name: old -> new" or "name (secret) changed"

    def __str__(self):
        s = self.storage
        head = f"{self.kind} storage {s.id} {s.title!r} (project {s.project_id}): {self.action}"
        return head + "".join(f"\n  {line}" for line in self.fields)


def load(text, source="spec"):
    """Storage specs (a list of dicts) from JSON or YAML text."""
    import yaml

    try:
        data = yaml.safe_load(text)  # JSON is YAML
    except yaml.YAMLError as exc:
        raise SpecError(f"{source}: not valid JSON or YAML: {exc}") from None
    if isinstance(data, dict) and "storages" in data:
        data = data["storages"]
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise SpecError(f"{source}: expected a storage object, a list of them, or {{\"storages\": [...]}}")
    return data


def read(path):
    """Specs from a file, or from stdin for ``-``."""
    import sys

    if path == "-":
        return load(sys.stdin.read(), "stdin")
    try:
        with open(path) as fh:
            return load(fh.read(), path)
    except OSError as exc:
        raise SpecError(f"{path}: {exc.strerror}") from None


def kind_of(spec, where):
    kind = str(spec.get("kind") or spec.get("type") or "source").lower()
    if kind not in KINDS:
        raise SpecError(f"{where}: kind must be source or target (got {kind!r})")
    return "source" if KINDS[kind] is ApertureDBImportStorage else "target"


def project_of(value, where):
    """A project by id, or by title when exactly one project has it."""
    from projects.models import Project

    if value in (None, ""):
        raise SpecError(f"{where}: project is required (an id or a title)")
    if isinstance(value, int) or str(value).isdigit():
        project = Project.objects.filter(pk=int(value)).first()
    else:
        matches = list(Project.objects.filter(title=str(value))[:2])
        if len(matches) > 1:
            raise SpecError(f"{where}: several projects are titled {value!r}; give its id")
        project = matches[0] if matches else None
    if project is None:
        raise SpecError(f"{where}: project {value!r} does not exist")
    return project


def resolve_secrets(spec, where):
    """``<secret>_env`` / ``<secret>_file`` replaced by their values; a literal secret is refused."""
    values = dict(spec)
    for name in SECRETS:
        if name in values:
            raise SpecError(f"{where}: {name}: do not put secrets in the spec; use {name}_env (an "
                            f"environment variable name) or {name}_file (a file path)")
        env, path = values.pop(f"{name}_env", None), values.pop(f"{name}_file", None)
        if env:
            if env not in os.environ:
                raise SpecError(f"{where}: {name}_env: environment variable {env} is not set")
            values[name] = os.environ[env]
        elif path:
            try:
                with open(path) as fh:
                    values[name] = fh.read().strip()
            except OSError as exc:
                raise SpecError(f"{where}: {name}_file: cannot read {path}: {exc.strerror}") from None
    return values


def _where(spec, index):
    return f"storage {index + 1} ({spec.get('title', 'untitled')!r})"


def find(kind, project, title):
    return KINDS[kind].objects.filter(project=project, title=title).order_by("id").first()


def apply(spec, index=0, must_exist=False):
    """Create or update one storage from ``spec``; returns a :class:`Change`."""
    from rest_framework.exceptions import ValidationError

    where = _where(spec, index)
    kind = kind_of(spec, where)
    values = resolve_secrets(spec, where)
    values.pop("kind", None)
    values.pop("type", None)
    project = project_of(values.pop("project", None), where)
    title = values.get("title")
    if not title:
        raise SpecError(f"{where}: title is required (a storage is identified by project + title)")
    unknown = set(values) - _writable(kind)
    if unknown:
        raise SpecError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    existing = find(kind, project, title)
    if existing is None and must_exist:
        raise SpecError(f"{where}: no {kind} storage titled {title!r} in project {project.id}; use add")
    serializer_class = _serializer(kind)
    data = {**values, "project": project.id}
    before = _snapshot(existing) if existing is not None else None
    serializer = serializer_class(existing, data=data, partial=existing is not None)
    try:
        serializer.is_valid(raise_exception=True)
    except ValidationError as exc:
        raise SpecError(f"{where}: {_errors(exc.detail)}") from None
    if existing is not None and not _differs(existing, serializer.validated_data):
        return Change(kind, existing, "unchanged")
    storage = serializer.save()
    if before is None:
        return Change(kind, storage, "created")
    return Change(kind, storage, "updated", _diff(before, _snapshot(storage)))


def delete(kind, project, title):
    storage = find(kind, project, title)
    if storage is None:
        return None
    change = Change(kind, storage, "deleted")
    storage.delete()
    return change


def listing(project=None):
    """Every ApertureDB storage (of ``project``) as plain data, without secrets."""
    out = []
    for kind in ("source", "target"):
        queryset = KINDS[kind].objects.order_by("project_id", "id")
        if project is not None:
            queryset = queryset.filter(project=project)
        for storage in queryset:
            data = _serializer(kind)(storage).data
            out.append({"kind": kind, **{k: v for k, v in data.items() if k not in SECRETS}})
    return out


def _serializer(kind):
    from ls_aperturedb.serializers import ApertureDBExportStorageSerializer, ApertureDBImportStorageSerializer

    return ApertureDBImportStorageSerializer if kind == "source" else ApertureDBExportStorageSerializer


def _writable(kind):
    model = KINDS[kind]
    names = {f.name for f in model._meta.concrete_fields} - NOT_SETTABLE - {"project"}
    return names | {"title", "description"}


def _snapshot(storage):
    return {f.name: getattr(storage, f.attname) for f in storage._meta.concrete_fields}


def _differs(storage, validated):
    for name, value in validated.items():
        current = getattr(storage, name)
        if hasattr(current, "pk"):
            current, value = current.pk, getattr(value, "pk", value)
        if current != value:
            return True
    return False


def _diff(before, after):
    lines = []
    for name, old in before.items():
        new = after.get(name)
        if old == new or name in ("updated_at",):
            continue
        if name in SECRETS:
            lines.append(f"{name} (secret) {'set' if new else 'cleared'}")
        else:
            lines.append(f"{name}: {json.dumps(old, default=str)} -> {json.dumps(new, default=str)}")
    return lines


def _errors(detail):
    if isinstance(detail, dict):
        return "; ".join(f"{name}: {_errors(value)}" for name, value in detail.items())
    if isinstance(detail, list):
        return " ".join(_errors(value) for value in detail)
    return str(detail)
