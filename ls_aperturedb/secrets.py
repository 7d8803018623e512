"""Encryption at rest for ApertureDB passwords, tokens and keys.

Values are stored as ``fernet:<token>``. Keys come from ``LS_APERTUREDB_SECRET_KEYS`` (comma separated
Fernet keys, newest first); when unset, one key is derived from Django's ``SECRET_KEY``. Rotation:
prepend a new key, keep the old ones, run ``ls-aperturedb rotate-secrets``; then drop the old keys.
"""
import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from ls_aperturedb import conf

PREFIX = "fernet:"


def _fernet():
    keys = conf.get_list("SECRET_KEYS")
    if not keys:
        from django.conf import settings

        digest = hashlib.sha256(("ls-aperturedb:" + settings.SECRET_KEY).encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except ValueError as exc:
        raise ImproperlyConfigured("LS_APERTUREDB_SECRET_KEYS must hold Fernet keys") from exc


def encrypt(value):
    if not value:
        return value
    return PREFIX + _fernet().encrypt(value.encode()).decode()


def decrypt(value):
    if not value or not value.startswith(PREFIX):
        return value
    try:
        return _fernet().decrypt(value[len(PREFIX):].encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "a stored ApertureDB secret cannot be decrypted: LS_APERTUREDB_SECRET_KEYS lacks its key"
        ) from exc


class EncryptedTextField(models.TextField):
    """A text column holding a Fernet-encrypted secret; Python code sees the plain value."""

    def from_db_value(self, value, expression, connection):
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value and not value.startswith(PREFIX):
            value = encrypt(value)
        return value
