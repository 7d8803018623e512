"""An ApertureDB-compatible server for tests and demos (like moto for AWS).

Speaks the real wire protocol so the unmodified `aperturedb` SDK talks to it.
Production code never imports this package.
"""
