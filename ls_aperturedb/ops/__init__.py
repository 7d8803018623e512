"""Operations: storages as code, provisioning at start, scheduled syncs, sync events, cleanup, and the
installation identity of exported nodes. The ``ls-aperturedb`` CLI and the Django management commands
(``management/commands/``) are thin wrappers over these modules."""
