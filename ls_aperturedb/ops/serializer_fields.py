"""Validation of the operations fields of both storage serializers (schedule, sync-event webhook,
score/model-version properties), each error on its field with the reason."""
from urllib.parse import urlsplit

from rest_framework.exceptions import ValidationError

MIN_INTERVAL = 10  # seconds; beat looks every LS_APERTUREDB_SCHEDULE_SECONDS anyway


class OperationsFieldsMixin:
    def validate_sync_interval(self, value):
        if value is not None and value < MIN_INTERVAL:
            raise ValidationError(f"sync every at least {MIN_INTERVAL} seconds, or leave it empty for no schedule")
        return value or None

    def validate_webhook_url(self, value):
        """http(s) only, to a host the plugin may reach (Label Studio's SSRF protection, with
        LS_APERTUREDB_ALLOWED_HOSTS as for ApertureDB itself); checked again at every delivery."""
        from ls_aperturedb.client.connection import ConnectionProblem
        from ls_aperturedb.client.ssrf import check_host_allowed

        if not value:
            return ""
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError("must be an http:// or https:// URL")
        if parts.username or parts.password:
            raise ValidationError("must not carry credentials; the payload is signed with the webhook secret")
        try:
            check_host_allowed(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        except ConnectionProblem as problem:
            raise ValidationError(problem.message) from None
        return value

    def validate_score_property(self, value):
        return _property_name(value)

    def validate_model_version_property(self, value):
        return _property_name(value)


def _property_name(value):
    value = (value or "").strip()
    if value.startswith("_"):
        raise ValidationError("names a user property; properties starting with '_' are ApertureDB's own")
    return value
