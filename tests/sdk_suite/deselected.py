"""The SDK suite tests that are not run against the emulator, each with its reason.

An id is `file::[Class::]test` (all its parameter variants, e.g. [TCP] and [TLS]) or a full
pytest id with its parameters. No patterns: every test is named. Remove an entry as soon as
the emulator (or the environment) covers it; run.py fails when a test not listed here fails.
"""
DESELECTED = {
}
