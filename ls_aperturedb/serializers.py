"""Storage serializers: secrets are write-only, connection problems come back per field (HTTP 400).

A stored secret is only ever combined with the server it was saved for: a request that changes the
host, port, username or TLS settings of a storage must carry its own secret (see
``ApertureDBSerializerMixin.connection_values``).
"""
import ipaddress
import json
import re

from io_storages.serializers import ExportStorageSerializer, ImportStorageSerializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from ls_aperturedb.access import require_project_member
from ls_aperturedb.client.connection import ConnectionProblem
from ls_aperturedb.source.selecting import selection_errors
from ls_aperturedb.models import (
    SECRET_FIELDS,
    WEBHOOK_SECRET_FIELDS,
    ApertureDBExportStorage,
    ApertureDBImportStorage,
)
from ls_aperturedb.ops.serializer_fields import OperationsFieldsMixin

OPERATORS = {"==", "!=", "<", "<=", ">", ">=", "in", "not in"}
UNIQUEID_OPERATORS = {"==", "in", "not in"}
PORT_RANGE = (1, 65535)
PORT_MESSAGE = "port must be between 1 and 65535"
# What decides which server a stored secret is sent to (and how that connection is protected).
TARGET_FIELDS = ("hostname", "port", "username", "use_ssl", "ca_cert", "verify_hostname")
_LABEL = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?$")  # '_': Docker/Compose service names


def constraint_errors(constraints):
    """Reasons why ``constraints`` is not a valid ApertureDB constraints object (empty when it is)."""
    if not isinstance(constraints, dict):
        return ["must be a JSON object like {\"prop\": [\">=\", 1]}"]
    errors = []
    for prop, condition in constraints.items():
        if not isinstance(condition, list) or not condition:
            errors.append(f"{prop}: must be a list like [\"==\", value]")
            continue
        if len(condition) % 2:
            errors.append(f"{prop}: expected operator/value pairs, got {condition!r}")
            continue
        allowed = UNIQUEID_OPERATORS if prop == "_uniqueid" else OPERATORS
        for op, value in zip(condition[::2], condition[1::2]):
            if op not in allowed:
                errors.append(f"{prop}: unknown operator {op!r} (use one of {', '.join(sorted(allowed))})")
            elif op in ("in", "not in") and not isinstance(value, list):
                errors.append(f"{prop}: {op!r} needs a list of values")
    return errors


def hostname_errors(hostname):
    """Why ``hostname`` is not an IP address or a DNS name (RFC 1035 lengths), before any socket sees it."""
    host = hostname.strip()
    if not host:
        return []  # "hostname is required" comes from the connection check (an APERTUREDB_KEY needs none)
    try:
        ipaddress.ip_address(host)
        return []
    except ValueError:
        pass
    name = host[:-1] if host.endswith(".") else host
    if len(name) > 253:
        return [f"a host name has at most 253 characters; this one has {len(name)}"]
    for label in name.split("."):
        if not label:
            return ["a host name cannot contain an empty label (\"..\", or a leading dot)"]
        if len(label) > 63:
            return [f"each dot-separated part of a host name has at most 63 characters; "
                    f"\"{label[:20]}...\" has {len(label)}"]
        if not _LABEL.match(label):
            return [f"\"{label}\" is not a valid host name part (letters, digits, '_' and inner hyphens); "
                    f"give a host name or an IP address, without a scheme, port or path"]
    return []


def _target(values):
    """The server and the protection a connection made from ``values`` uses."""
    return (str(values.get("hostname") or "").strip().lower(), *(values.get(name) for name in TARGET_FIELDS[1:]))


def _port_field():
    return serializers.IntegerField(
        required=False, min_value=PORT_RANGE[0], max_value=PORT_RANGE[1], help_text="ApertureDB port (1-65535)",
        error_messages={"min_value": PORT_MESSAGE, "max_value": PORT_MESSAGE,
                        "invalid": f"a whole number is required; {PORT_MESSAGE}"})


class ApertureDBSerializerMixin:
    def validate_hostname(self, value):
        errors = hostname_errors(value)
        if errors:
            raise ValidationError(errors)
        return value.strip()

    def validate_project(self, project):
        """Creating a storage in a project, or moving one there, needs membership of its organization
        (checked before any connection is made on the request's behalf)."""
        request = self.context.get("request")
        if request is not None:
            require_project_member(request.user, project)
        return project

    def to_representation(self, instance):
        """Secrets never come back; ``<secret>_set`` says which ones are stored (the edit form shows
        a stored secret as set, and only those)."""
        data = super().to_representation(instance)
        for name in SECRET_FIELDS:
            data.pop(name, None)
            data[f"{name}_set"] = bool(getattr(instance, name, ""))
        for name in WEBHOOK_SECRET_FIELDS:
            data.pop(name, None)
            data[f"{name}_set"] = bool(getattr(instance, name, ""))
        data["type"] = "aperturedb"
        return data

    def to_internal_value(self, data):
        """Accept what HTML forms send: JSON fields as JSON text, empty text for an unset number."""
        if hasattr(data, "items"):
            data = {key: value for key, value in data.items()}
            model_fields = {f.name: f for f in self.Meta.model._meta.concrete_fields}
            errors = {}
            for name, value in list(data.items()):
                field = model_fields.get(name)
                if field is None or not isinstance(value, str):
                    continue
                if field.get_internal_type() == "JSONField":
                    try:
                        data[name] = json.loads(value) if value.strip() else field.get_default()
                    except ValueError as exc:
                        errors[name] = [f"not valid JSON: {exc}"]
                elif field.null and value.strip() == "" and field.get_internal_type().endswith(("IntegerField", "FloatField")):
                    data[name] = None
            if errors:
                raise ValidationError(errors)
        return super().to_internal_value(data)

    def _existing(self):
        """The stored storage this request edits: the instance of PATCH/PUT, or the one the validate and
        files APIs loaded (after their permission check) for an ``id``. A client ``id`` alone is never
        looked up here: a create ignores it."""
        if self.instance is not None:
            return self.instance
        return self.context.get("existing")

    def connection_values(self, data):
        """The connection fields to check: the stored storage's, overridden by the request's.

        Returns ``(values, cleared)``: ``cleared`` blanks the stored secrets when the request moves the
        storage to another server (host, port, username or TLS settings), so a stored secret never
        reaches a server it was not saved for, now or after saving."""
        model = self.Meta.model
        names = {f.name for f in model._meta.concrete_fields if not f.is_relation and f.name != "id"}
        existing = self._existing()
        sent = {k: v for k, v in data.items() if k in names}
        if existing is None:
            return sent, {}
        values = {name: getattr(existing, name) for name in names}
        if _target(values) == _target({**values, **sent}):
            return {**values, **sent}, {}
        stored = [name for name in SECRET_FIELDS if getattr(existing, name)]
        if stored and not any(sent.get(name) for name in SECRET_FIELDS):
            label = {"password": "password", "token": "API token", "aperturedb_key": "APERTUREDB_KEY"}[stored[0]]
            raise ValidationError({stored[0]: [
                f"The host, port, username or TLS settings changed: enter the {label} again. A stored "
                f"{label} is only ever sent to the server it was saved for."]})
        cleared = {name: "" for name in SECRET_FIELDS if name not in sent}
        return {**values, **{name: "" for name in SECRET_FIELDS}, **sent}, cleared

    def validate(self, data):
        data = super().validate(data)
        for name in ("constraints", "region_constraints"):
            errors = constraint_errors(data[name]) if name in data else []
            if errors:
                raise ValidationError({name: errors})
        values, cleared = self.connection_values(data)
        try:
            storage = self.Meta.model(**values)
            _check_target(storage)
            storage.check_connection()
        except ConnectionProblem as problem:
            raise ValidationError({problem.field: [problem.message]}) from None
        return {**data, **cleared}


def _check_target(storage):
    """Host and port as the connection will use them (an APERTUREDB_KEY carries its own), checked
    before any socket is opened; a problem names the field the user typed them in."""
    config = storage.connection_config()  # a key that does not parse is a ConnectionProblem already
    field, prefix = ("aperturedb_key", "the APERTUREDB_KEY's ") if storage.aperturedb_key else ("hostname", "")
    errors = hostname_errors(config.host)
    if errors:
        raise ConnectionProblem(field, prefix + errors[0])
    if not PORT_RANGE[0] <= config.port <= PORT_RANGE[1]:
        raise ConnectionProblem("aperturedb_key" if storage.aperturedb_key else "port",
                                f"{prefix}{PORT_MESSAGE} (got {config.port})")


class ApertureDBImportStorageSerializer(OperationsFieldsMixin, ApertureDBSerializerMixin, ImportStorageSerializer):
    type = serializers.ReadOnlyField(default="aperturedb")
    port = _port_field()

    def validate_properties(self, value):
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ValidationError("must be a list of image property names")
        return value

    def validate(self, data):
        project = data.get("project") or getattr(self._existing(), "project", None)
        target = self._media_target(data, project)
        errors = selection_errors(data, self._existing(), project)  # before any connection is made
        if errors:
            raise ValidationError(errors)
        data = super().validate(data)
        self._check_frame_rate(data, target)
        return data

    def _media_target(self, data, project):
        """The media kind against the project's labeling config, when ``media_kind`` or ``data_key`` is sent:
        400 on ``media_kind`` naming the mismatch (videos need a Video tag, images and frames an Image tag),
        on ``data_key`` naming a tag the config lacks."""
        from ls_aperturedb.labeling_config import LabelingConfigProblem, MediaKindProblem, media_target

        existing = self._existing()
        if project is None or not (data.get("data_key") or "media_kind" in data):
            return None
        kind = data.get("media_kind") or getattr(existing, "media_kind", "") or "images"
        try:
            return media_target(project.label_config, kind, data.get("data_key", getattr(existing, "data_key", "")))
        except MediaKindProblem as problem:
            raise ValidationError({"media_kind": [str(problem)]}) from None
        except LabelingConfigProblem as problem:
            raise ValidationError({"data_key": [str(problem)]}) from None

    def _check_frame_rate(self, data, target):
        """Check connection (the validate API) also compares the videos' ``_fps`` with the Video tag's
        frameRate: a mismatch would keep their clips and boxes out of the predictions (400 saying so)."""
        from io_storages.api import ImportStorageValidateAPI

        from ls_aperturedb.labeling_config import VideoTarget
        from ls_aperturedb.source.videos import frame_rate_check

        if not isinstance(target, VideoTarget) or not isinstance(self.context.get("view"), ImportStorageValidateAPI):
            return
        values, _ = self.connection_values(data)
        storage = self.Meta.model(**values)
        if storage.include_regions:
            problem = frame_rate_check(storage, target)
            if problem:
                raise ValidationError({"media_kind": [problem]})

    class Meta:
        model = ApertureDBImportStorage
        fields = "__all__"
        extra_kwargs = {name: {"write_only": True} for name in (*SECRET_FIELDS, *WEBHOOK_SECRET_FIELDS)}


class ApertureDBExportStorageSerializer(OperationsFieldsMixin, ApertureDBSerializerMixin, ExportStorageSerializer):
    type = serializers.ReadOnlyField(default="aperturedb")
    port = _port_field()

    def to_representation(self, instance):
        """``meta.exports``: live outbox counts (pending, exported, failed, deleting) and the last error."""
        from ls_aperturedb.target.exporter import status

        data = super().to_representation(instance)
        exports = status(instance)
        # The fields Label Studio's storage card reads: "Annotations <last_sync_count> (<total> total)".
        data["last_sync_count"] = exports["exported"]
        data["meta"] = {**(data.get("meta") or {}), "exports": exports,
                        "total_annotations": instance.project.annotations.count() if instance.project_id else 0}
        return data

    class Meta:
        model = ApertureDBExportStorage
        fields = "__all__"
        extra_kwargs = {name: {"write_only": True} for name in (*SECRET_FIELDS, *WEBHOOK_SECRET_FIELDS)}
