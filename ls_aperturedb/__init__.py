"""ApertureDB as a first-class Label Studio storage (import, media streaming, export)."""

__version__ = "0.1.0"
