"""Secrets at rest: encrypted with Fernet, readable after a key rotation, never stored in clear."""
import pytest
from cryptography.fernet import Fernet
from django.db import connection

from ls_aperturedb.cli import main as cli
from ls_aperturedb.models import ApertureDBImportStorage


def raw_password(storage_id):
    with connection.cursor() as cursor:
        cursor.execute("SELECT password FROM ls_aperturedb_aperturedbimportstorage WHERE id = %s", [storage_id])
        return cursor.fetchone()[0]


@pytest.fixture
def storage(project):
    return ApertureDBImportStorage.objects.create(project=project, hostname="adb.internal", password="s3cret-pw")


def test_password_is_encrypted_at_rest(storage):
    stored = raw_password(storage.id)
    assert stored.startswith("fernet:") and "s3cret-pw" not in stored
    assert ApertureDBImportStorage.objects.get(id=storage.id).password == "s3cret-pw"


def test_rotation_re_encrypts_with_the_newest_key(storage, monkeypatch, capsys):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("LS_APERTUREDB_SECRET_KEYS", old_key)
    storage.save()  # stored under the old key
    before = raw_password(storage.id)

    monkeypatch.setenv("LS_APERTUREDB_SECRET_KEYS", f"{new_key},{old_key}")
    assert cli(["rotate-secrets"]) == 0
    assert "re-encrypted the secrets of 1" in capsys.readouterr().out
    assert raw_password(storage.id) != before

    monkeypatch.setenv("LS_APERTUREDB_SECRET_KEYS", new_key)  # the old key is gone now
    assert ApertureDBImportStorage.objects.get(id=storage.id).password == "s3cret-pw"


def test_unknown_key_is_a_clear_configuration_error(storage, monkeypatch):
    monkeypatch.setenv("LS_APERTUREDB_SECRET_KEYS", Fernet.generate_key().decode())
    with pytest.raises(Exception, match="LS_APERTUREDB_SECRET_KEYS lacks its key"):
        ApertureDBImportStorage.objects.get(id=storage.id)


def raw_column(table, column, storage_id):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [storage_id])
        return cursor.fetchone()[0]


@pytest.mark.parametrize("field", ["password", "token", "aperturedb_key"])
@pytest.mark.parametrize("kind", ["import", "export"])
def test_every_secret_field_of_both_storages_is_encrypted_at_rest(project, field, kind):
    from ls_aperturedb.models import ApertureDBExportStorage

    model = ApertureDBImportStorage if kind == "import" else ApertureDBExportStorage
    secret = f"{field}-Zq81-plain"
    storage = model.objects.create(project=project, hostname="adb.internal", **{field: secret})
    stored = raw_column(model._meta.db_table, field, storage.id)
    assert stored.startswith("fernet:") and secret not in stored
    assert getattr(model.objects.get(id=storage.id), field) == secret
