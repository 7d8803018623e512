"""The target storage flow: annotation -> ApertureDB transaction, delivered through the outbox."""
