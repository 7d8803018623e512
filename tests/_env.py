"""Loaded with ``-p tests._env`` before Django starts: environment for the whole test run."""
import os
import tempfile

# Before Django and the SDK load: no error.<ts>.log in the cwd, a private Label Studio data dir,
# and the loopback emulator allowed through the ApertureDB-only SSRF allowance.
os.environ["ADB_LOG_FILE"] = ""
os.environ.setdefault("LABEL_STUDIO_BASE_DATA_DIR", tempfile.mkdtemp(prefix="ls-adb-test-"))
os.environ.setdefault("LS_APERTUREDB_ALLOWED_HOSTS", "127.0.0.1,localhost,::1")
os.environ.setdefault("SENTRY_DSN", "")
os.environ.setdefault("FRONTEND_SENTRY_DSN", "")
os.environ.setdefault("COLLECT_ANALYTICS", "0")

# Concurrent test runs on one machine share Redis: each run's tasks travel on a queue of its own.
os.environ.setdefault("LS_APERTUREDB_QUEUE", f"ls-aperturedb-test-{os.getpid()}")
