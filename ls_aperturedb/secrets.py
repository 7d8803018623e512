"""Encryption at rest for ApertureDB passwords, tokens and keys.

Values are stored as ``fernet:<token>``. Keys come from ``LS_APERTUREDB_SECRET_KEYS`` (comma separated
Fernet keys, newest first). When unset, a key generated on first use is kept in Label Studio's data
dir (``ls-aperturedb-secret.key``, mode 0600) — fine for one machine; set the variable wherever the
web app and the workers run apart. (Not derived from ``SECRET_KEY``: Label Studio may regenerate that.)
Rotation: prepend a new key, keep the old ones, run ``ls-aperturedb rotate-secrets``, then drop them.
"""
import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from ls_aperturedb import conf

PREFIX = "fernet:"


def _fernet():
    keys = conf.get_list("SECRET_KEYS") or [_local_key()]
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except ValueError as exc:
        raise ImproperlyConfigured("LS_APERTUREDB_SECRET_KEYS must hold Fernet keys") from exc


def _local_key():
    from django.conf import settings

    path = os.path.join(settings.BASE_DATA_DIR, "ls-aperturedb-secret.key")
    if not os.path.exists(path):
        # Write then link: concurrent first uses (web app, workers) agree on one key.
        tmp = f"{path}.{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(Fernet.generate_key().decode())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    with open(path) as fh:
        return fh.read().strip()


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
