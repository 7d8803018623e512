"""The ApertureDB client layer: connection settings, pooled connections, the host policy."""
