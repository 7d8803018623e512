"""Storage serializers: secrets are write-only, connection problems come back per field (HTTP 400)."""
import json

from io_storages.serializers import ExportStorageSerializer, ImportStorageSerializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from ls_aperturedb.connection import ConnectionProblem
from ls_aperturedb.models import SECRET_FIELDS, ApertureDBExportStorage, ApertureDBImportStorage

OPERATORS = {"==", "!=", "<", "<=", ">", ">=", "in", "not in"}
UNIQUEID_OPERATORS = {"==", "in", "not in"}


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


class ApertureDBSerializerMixin:
    type = serializers.ReadOnlyField(default="aperturedb")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for name in SECRET_FIELDS:
            data.pop(name, None)
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
                elif field.null and value.strip() == "" and field.get_internal_type().endswith("IntegerField"):
                    data[name] = None
            if errors:
                raise ValidationError(errors)
        return super().to_internal_value(data)

    def _existing(self):
        """The stored storage this request edits (validate API sends its id), if any."""
        if self.instance is not None:
            return self.instance
        pk = getattr(self, "initial_data", {}).get("id")
        if pk:
            return self.Meta.model.objects.filter(pk=pk).first()
        return None

    def validate(self, data):
        data = super().validate(data)
        for name in ("constraints", "region_constraints"):
            errors = constraint_errors(data[name]) if name in data else []
            if errors:
                raise ValidationError({name: errors})
        model = self.Meta.model
        names = {f.name for f in model._meta.concrete_fields if not f.is_relation and f.name != "id"}
        existing = self._existing()
        values = {name: getattr(existing, name) for name in names} if existing is not None else {}
        values.update({k: v for k, v in data.items() if k in names})
        try:
            model(**values).check_connection()
        except ConnectionProblem as problem:
            raise ValidationError({problem.field: [problem.message]}) from None
        return data


class ApertureDBImportStorageSerializer(ApertureDBSerializerMixin, ImportStorageSerializer):
    type = serializers.ReadOnlyField(default="aperturedb")

    def validate_properties(self, value):
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ValidationError("must be a list of image property names")
        return value

    def validate(self, data):
        from ls_aperturedb.labeling_config import LabelingConfigProblem, image_target

        project = data.get("project") or getattr(self._existing(), "project", None)
        if data.get("data_key") and project is not None:
            try:
                image_target(project.label_config, data["data_key"])
            except LabelingConfigProblem as problem:
                raise ValidationError({"data_key": [str(problem)]}) from None
        return super().validate(data)

    class Meta:
        model = ApertureDBImportStorage
        fields = "__all__"
        extra_kwargs = {name: {"write_only": True} for name in SECRET_FIELDS}


class ApertureDBExportStorageSerializer(ApertureDBSerializerMixin, ExportStorageSerializer):
    type = serializers.ReadOnlyField(default="aperturedb")

    def to_representation(self, instance):
        """``meta.exports``: live outbox counts (pending, exported, failed, deleting) and the last error."""
        from ls_aperturedb.exporter import status

        data = super().to_representation(instance)
        data["meta"] = {**(data.get("meta") or {}), "exports": status(instance)}
        return data

    class Meta:
        model = ApertureDBExportStorage
        fields = "__all__"
        extra_kwargs = {name: {"write_only": True} for name in SECRET_FIELDS}
