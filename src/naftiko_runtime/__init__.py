"""naftiko-runtime: serve Naftiko capability files as REST APIs and MCP servers."""

from __future__ import annotations

__version__ = "0.1.0"

#: The spec version this runtime implements (alpha1 and alpha3 documents are read as alpha2).
SPEC_VERSION = "1.0.0-alpha2"
