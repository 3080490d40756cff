"""Migration scripts, one per schema version, applied in `down_revision` order."""
