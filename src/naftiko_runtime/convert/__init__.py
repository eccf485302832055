"""Converting between capabilities and other descriptions of an API (OpenAPI, both ways)."""
