"""The capability document: loading, validation and the typed model."""
