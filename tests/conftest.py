"""Shared fixtures: an ApertureDB (the emulator, or a real one from the environment), Label Studio
users/projects, an API client, and a real Celery worker on Redis.

Point the integration tests at a real ApertureDB with either ``APERTUREDB_KEY`` or
``APERTUREDB_HOST`` (+ ``APERTUREDB_PORT``, ``APERTUREDB_USER``, ``APERTUREDB_PASSWORD``,
``APERTUREDB_USE_SSL``, ``APERTUREDB_CA_CERT`` = path to a PEM). Tests that need the emulator's own
controls (restart, revoke sessions) are skipped then. Note: tests write and delete data there.
"""
pytest_plugins = ["tests.fixtures.aperturedb", "tests.fixtures.labelstudio", "tests.fixtures.worker",
                  "tests.fixtures.export"]
